//! Charts as inline SVG, made on the server from pure functions: data in, an SVG string out.
//! No script and no inline `style` (the dashboard's CSP allows neither): colours and dashes
//! are presentation attributes. Every chart has a `<title>` and `<desc>` it is labelled by,
//! labelled axes, and is meant to sit next to a table with the same figures (the page puts it
//! there) for anyone who cannot see it. Every text that goes in is escaped here, so callers may
//! pass data and translated words as they are. Tested with golden files (tests/golden_svg/).

use std::fmt::Write;

/// Width and height of a chart's coordinate system; the stylesheet scales it to the page.
const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 260.0;
/// Room for the y labels (left), the x labels and axis name (bottom), the legend (top).
const LEFT: f64 = 64.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 52.0;
/// Most labels written under the x axis; the others are left out (the table has them all).
const MAX_X_LABELS: usize = 8;
/// Up to this many points a line gets a dot on each (one day would be no line at all).
const MAX_DOTS: usize = 31;

const AXIS: &str = "#4d4d4d";
const GRID: &str = "#c4c4c4";
const TEXT: &str = "#1a1a1a";

/// Series colours, each at least 3:1 against white (WCAG non-text contrast).
pub const PALETTE: [&str; 4] = ["#0b57d0", "#146c2e", "#b3261e", "#6b6b6b"];

/// How a series is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stroke {
    Solid,
    /// For a comparison (the previous period).
    Dashed,
}

/// One named row of values, one per x label.
#[derive(Debug, Clone)]
pub struct Series<'a> {
    pub name: &'a str,
    pub values: &'a [u64],
    /// One of [`PALETTE`] (or any `#rrggbb`).
    pub colour: &'a str,
    pub stroke: Stroke,
}

/// What every chart needs besides its data.
#[derive(Debug, Clone)]
pub struct Frame<'a> {
    /// Prefix of the element ids (unique on the page).
    pub id: &'a str,
    pub title: &'a str,
    /// A sentence for screen readers: what is shown, and that the table next to it has it all.
    pub description: &'a str,
    /// One label per x position (e.g. days as `11-22`).
    pub x_labels: &'a [String],
    pub x_axis: &'a str,
    pub y_axis: &'a str,
}

/// XML text and attribute escaping.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A round upper bound for the y axis and its tick step: 1, 2 or 5 times a power of ten,
/// giving 2 to 5 ticks above zero.
fn scale(max: u64) -> (u64, u64) {
    if max == 0 {
        return (1, 1);
    }
    let mut magnitude = 1u64;
    loop {
        for f in [1u64, 2, 5] {
            let step = f.saturating_mul(magnitude);
            if max.div_ceil(step) <= 5 {
                return (max.div_ceil(step) * step, step);
            }
        }
        magnitude = magnitude.saturating_mul(10);
    }
}

fn plot_width() -> f64 {
    WIDTH - LEFT - RIGHT
}

fn plot_height() -> f64 {
    HEIGHT - TOP - BOTTOM
}

fn y_of(value: u64, top: u64) -> f64 {
    TOP + plot_height() * (1.0 - value as f64 / top as f64)
}

/// Which x labels are written: at most [`MAX_X_LABELS`], evenly spread, always the last.
fn shown_labels(n: usize) -> Vec<usize> {
    if n == 0 {
        return Vec::new();
    }
    let every = n.div_ceil(MAX_X_LABELS);
    let mut shown: Vec<usize> = (0..n).step_by(every).collect();
    if shown.last() != Some(&(n - 1)) {
        if shown.len() == MAX_X_LABELS {
            shown.pop();
        }
        shown.push(n - 1);
    }
    shown
}

/// The opening tag, title, description, legend, grid, y labels and axis names.
fn open(out: &mut String, frame: &Frame<'_>, legend: &[(&str, &str, Stroke)], top: u64, step: u64) {
    let id = escape(frame.id);
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" \
         role=\"img\" aria-labelledby=\"{id}-title {id}-desc\" font-family=\"system-ui, sans-serif\" \
         font-size=\"12\" fill=\"{TEXT}\">\
         <title id=\"{id}-title\">{}</title><desc id=\"{id}-desc\">{}</desc>",
        escape(frame.title),
        escape(frame.description)
    );
    let mut x = LEFT;
    for (name, colour, stroke) in legend {
        let dash = dash_attr(*stroke);
        let _ = write!(
            out,
            "<line x1=\"{x:.1}\" y1=\"14\" x2=\"{:.1}\" y2=\"14\" stroke=\"{colour}\" stroke-width=\"3\"{dash}/>\
             <text x=\"{:.1}\" y=\"18\">{}</text>",
            x + 18.0,
            x + 24.0,
            escape(name)
        );
        x += 40.0 + 7.0 * name.chars().count() as f64;
    }
    let mut tick = 0;
    while tick <= top {
        let y = y_of(tick, top);
        let _ = write!(
            out,
            "<line x1=\"{LEFT}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"{GRID}\" stroke-width=\"1\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{tick}</text>",
            WIDTH - RIGHT,
            LEFT - 8.0,
            y + 4.0
        );
        tick += step;
    }
    let _ = write!(
        out,
        "<line x1=\"{LEFT}\" y1=\"{TOP}\" x2=\"{LEFT}\" y2=\"{:.1}\" stroke=\"{AXIS}\" stroke-width=\"1\"/>\
         <line x1=\"{LEFT}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"{AXIS}\" stroke-width=\"1\"/>\
         <text x=\"14\" y=\"{:.1}\" text-anchor=\"middle\" transform=\"rotate(-90 14 {:.1})\">{}</text>\
         <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
        HEIGHT - BOTTOM,
        HEIGHT - BOTTOM,
        WIDTH - RIGHT,
        HEIGHT - BOTTOM,
        TOP + plot_height() / 2.0,
        TOP + plot_height() / 2.0,
        escape(frame.y_axis),
        LEFT + plot_width() / 2.0,
        HEIGHT - 8.0,
        escape(frame.x_axis)
    );
}

fn x_labels(out: &mut String, labels: &[String], x_of: impl Fn(usize) -> f64) {
    for i in shown_labels(labels.len()) {
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            x_of(i),
            HEIGHT - BOTTOM + 18.0,
            escape(&labels[i])
        );
    }
}

fn dash_attr(stroke: Stroke) -> &'static str {
    match stroke {
        Stroke::Solid => "",
        Stroke::Dashed => " stroke-dasharray=\"6 4\"",
    }
}

/// A line chart: one line per series over the x labels, zero at the bottom.
pub fn line_chart(frame: &Frame<'_>, series: &[Series<'_>]) -> String {
    let n = frame.x_labels.len();
    let max = series
        .iter()
        .flat_map(|s| s.values.iter().copied())
        .max()
        .unwrap_or(0);
    let (top, step) = scale(max);
    let x_of = |i: usize| {
        if n <= 1 {
            LEFT + plot_width() / 2.0
        } else {
            LEFT + plot_width() * i as f64 / (n - 1) as f64
        }
    };
    let legend: Vec<(&str, &str, Stroke)> = series
        .iter()
        .map(|s| (s.name, s.colour, s.stroke))
        .collect();
    let mut out = String::new();
    open(&mut out, frame, &legend, top, step);
    x_labels(&mut out, frame.x_labels, x_of);
    for s in series {
        let points: Vec<String> = s
            .values
            .iter()
            .take(n)
            .enumerate()
            .map(|(i, v)| format!("{:.1},{:.1}", x_of(i), y_of(*v, top)))
            .collect();
        if points.len() > 1 {
            let _ = write!(
                out,
                "<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2.5\" \
                 stroke-linejoin=\"round\"{}/>",
                points.join(" "),
                s.colour,
                dash_attr(s.stroke)
            );
        }
        if n <= MAX_DOTS && s.stroke == Stroke::Solid {
            for (i, v) in s.values.iter().take(n).enumerate() {
                let _ = write!(
                    out,
                    "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"{}\"/>",
                    x_of(i),
                    y_of(*v, top),
                    s.colour
                );
            }
        }
    }
    out.push_str("</svg>");
    out
}

/// A stacked bar chart: one bar per x label, the series stacked bottom up in order.
pub fn bar_chart(frame: &Frame<'_>, series: &[Series<'_>]) -> String {
    let n = frame.x_labels.len();
    let totals: Vec<u64> = (0..n)
        .map(|i| {
            series
                .iter()
                .map(|s| s.values.get(i).copied().unwrap_or(0))
                .sum()
        })
        .collect();
    let (top, step) = scale(totals.iter().copied().max().unwrap_or(0));
    let slot = plot_width() / n.max(1) as f64;
    let bar = (slot * 0.7).max(1.0);
    let x_of = |i: usize| LEFT + slot * (i as f64 + 0.5);
    let legend: Vec<(&str, &str, Stroke)> = series
        .iter()
        .map(|s| (s.name, s.colour, s.stroke))
        .collect();
    let mut out = String::new();
    open(&mut out, frame, &legend, top, step);
    x_labels(&mut out, frame.x_labels, x_of);
    for i in 0..n {
        let mut base = 0u64;
        for s in series {
            let v = s.values.get(i).copied().unwrap_or(0);
            if v == 0 {
                continue;
            }
            let (y_top, y_bottom) = (y_of(base + v, top), y_of(base, top));
            let _ = write!(
                out,
                "<rect x=\"{:.1}\" y=\"{y_top:.1}\" width=\"{bar:.1}\" height=\"{:.1}\" fill=\"{}\"/>",
                x_of(i) - bar / 2.0,
                y_bottom - y_top,
                s.colour
            );
            base += v;
        }
    }
    out.push_str("</svg>");
    out
}

/// A small horizontal bar for a table row: `value` of `max`, decoration only (the row says
/// the number), so hidden from screen readers.
pub fn bar_cell(value: u64, max: u64) -> String {
    let width = if max == 0 {
        0.0
    } else {
        100.0 * value.min(max) as f64 / max as f64
    };
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"bar\" viewBox=\"0 0 100 10\" \
         preserveAspectRatio=\"none\" aria-hidden=\"true\" focusable=\"false\">\
         <rect x=\"0\" y=\"0\" width=\"100\" height=\"10\" fill=\"#e8f0fe\"/>\
         <rect x=\"0\" y=\"0\" width=\"{width:.1}\" height=\"10\" fill=\"{}\"/></svg>",
        PALETTE[0]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_y_axis_ends_on_a_round_number_with_a_few_ticks() {
        assert_eq!(scale(0), (1, 1));
        assert_eq!(scale(3), (3, 1));
        assert_eq!(scale(7), (8, 2));
        assert_eq!(scale(23), (25, 5));
        assert_eq!(scale(100), (100, 20));
        assert_eq!(scale(1234), (1500, 500));
    }

    #[test]
    fn at_most_eight_x_labels_and_always_the_last() {
        assert_eq!(shown_labels(0), Vec::<usize>::new());
        assert_eq!(shown_labels(3), [0, 1, 2]);
        assert_eq!(shown_labels(30), [0, 4, 8, 12, 16, 20, 24, 29]);
        assert_eq!(shown_labels(90).len(), 8);
        assert_eq!(shown_labels(90).last(), Some(&89));
    }

    #[test]
    fn text_is_escaped_and_nothing_has_inline_style_or_script() {
        let labels = vec!["<b>".to_owned(), "a&b".to_owned()];
        let frame = Frame {
            id: "c\"1",
            title: "Views <script>",
            description: "d'",
            x_labels: &labels,
            x_axis: "x",
            y_axis: "y",
        };
        let values = [1, 2];
        let series = [Series {
            name: "</text>",
            values: &values,
            colour: PALETTE[0],
            stroke: Stroke::Solid,
        }];
        for svg in [line_chart(&frame, &series), bar_chart(&frame, &series)] {
            assert!(!svg.contains("<script") && !svg.contains("<b>") && !svg.contains("</text>\""));
            assert!(!svg.contains("style="));
            assert!(svg.contains("Views &lt;script&gt;") && svg.contains("a&amp;b"));
            assert!(svg.contains("aria-labelledby=\"c&quot;1-title c&quot;1-desc\""));
        }
        assert!(bar_cell(5, 10).contains("width=\"50.0\""));
        assert!(bar_cell(5, 0).contains("width=\"0.0\""));
    }
}
