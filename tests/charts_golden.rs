//! The overview's charts against golden files in tests/golden_svg/: the same data must give the
//! same SVG, byte for byte, so any change to how a chart looks is seen in review. Run with
//! `UPDATE_GOLDEN=1` to write the files anew after a deliberate change, and look at them.

use std::path::PathBuf;

use consentgate::dashboard::charts::{
    bar_cell, bar_chart, line_chart, Frame, Series, Stroke, PALETTE,
};

fn check(name: &str, svg: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden_svg")
        .join(format!("{name}.svg"));
    // Every chart is one element with nothing the dashboard's CSP forbids.
    assert!(
        svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""),
        "{name}"
    );
    assert!(svg.ends_with("</svg>"), "{name}");
    assert!(
        !svg.contains("style=") && !svg.contains("<script"),
        "{name}"
    );
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, format!("{svg}\n")).expect("write golden file");
        return;
    }
    let golden = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run with UPDATE_GOLDEN=1 to create it)",
            path.display()
        )
    });
    assert_eq!(
        golden.trim_end(),
        svg,
        "{name} differs from {}",
        path.display()
    );
}

fn days(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("11-{:02}", i + 1)).collect()
}

fn frame<'a>(id: &'a str, labels: &'a [String]) -> Frame<'a> {
    Frame {
        id,
        title: "Page views and unique visitors per day",
        description: "A line chart; the table below it holds the same figures.",
        x_labels: labels,
        x_axis: "Day",
        y_axis: "Number",
    }
}

#[test]
fn a_month_of_views_visitors_and_the_period_before() {
    let labels = days(30);
    let views: Vec<u64> = (0..30).map(|i| 40 + (i * 37 % 23) as u64).collect();
    let visitors: Vec<u64> = views.iter().map(|v| v * 2 / 3).collect();
    let before: Vec<u64> = (0..30).map(|i| 35 + (i * 11 % 17) as u64).collect();
    let svg = line_chart(
        &frame("visits", &labels),
        &[
            Series {
                name: "Page views",
                values: &views,
                colour: PALETTE[0],
                stroke: Stroke::Solid,
            },
            Series {
                name: "Unique visitors",
                values: &visitors,
                colour: PALETTE[1],
                stroke: Stroke::Solid,
            },
            Series {
                name: "Page views, period before",
                values: &before,
                colour: PALETTE[3],
                stroke: Stroke::Dashed,
            },
        ],
    );
    check("line_month", &svg);
}

#[test]
fn a_week_of_decisions_stacked_by_action() {
    let labels = days(7);
    let accept = [3, 5, 0, 2, 4, 1, 6];
    let reject = [2, 1, 0, 3, 1, 2, 2];
    let custom = [1, 0, 0, 1, 0, 0, 1];
    let withdraw = [0, 0, 0, 0, 1, 0, 0];
    let svg = bar_chart(
        &Frame {
            title: "Consent decisions per day",
            ..frame("decisions", &labels)
        },
        &[
            Series {
                name: "accepted all",
                values: &accept,
                colour: PALETTE[1],
                stroke: Stroke::Solid,
            },
            Series {
                name: "refused all",
                values: &reject,
                colour: PALETTE[2],
                stroke: Stroke::Solid,
            },
            Series {
                name: "chose per category",
                values: &custom,
                colour: PALETTE[0],
                stroke: Stroke::Solid,
            },
            Series {
                name: "withdrew",
                values: &withdraw,
                colour: PALETTE[3],
                stroke: Stroke::Solid,
            },
        ],
    );
    check("bar_week", &svg);
}

#[test]
fn one_day_is_a_dot_and_no_data_is_an_empty_frame() {
    let one = days(1);
    let svg = line_chart(
        &frame("one", &one),
        &[Series {
            name: "Page views",
            values: &[12],
            colour: PALETTE[0],
            stroke: Stroke::Solid,
        }],
    );
    assert!(svg.contains("<circle"));
    check("line_one_day", &svg);
    let none = days(7);
    let zeros = [0u64; 7];
    let svg = bar_chart(
        &frame("none", &none),
        &[Series {
            name: "accepted all",
            values: &zeros,
            colour: PALETTE[1],
            stroke: Stroke::Solid,
        }],
    );
    assert!(!svg.contains("<rect"));
    check("bar_empty", &svg);
}

#[test]
fn table_bars_are_hidden_decoration() {
    let svg = bar_cell(3, 4);
    assert!(svg.contains("aria-hidden=\"true\""));
    check("bar_cell", &svg);
}
