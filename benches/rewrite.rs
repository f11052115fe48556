//! Rewriter throughput on generated CMS-like pages of 2 KB, 60 KB and 500 KB (head with GA4,
//! Meta pixel + noscript, Hotjar, GTM noscript; body of prose, links, images, scripts).
//! `cargo bench --bench rewrite`. Measured, never asserted.

use std::hint::black_box;
use std::sync::Arc;

use consentgate::rewrite::{BodyRewriter, Coding, RewriteSettings, Rewriter};
use consentgate::trackers::Catalogue;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

const HEAD: &str = r#"<!DOCTYPE html>
<html lang="en-GB">
<head>
<meta charset="UTF-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Riverside quarter plans explained | Northfield Gazette</title>
<link rel="dns-prefetch" href="//www.googletagmanager.com">
<link rel="stylesheet" href="/wp-content/themes/gazette/style.css?ver=2.4.1" media="all">
<script type="application/ld+json">{"@context":"https://schema.org","@type":"NewsArticle","headline":"Riverside"}</script>
<script async src="https://www.googletagmanager.com/gtag/js?id=G-7XK3Q2M9PL"></script>
<script>
  window.dataLayer = window.dataLayer || [];
  function gtag(){dataLayer.push(arguments);}
  gtag('js', new Date());
  gtag('config', 'G-7XK3Q2M9PL', { 'anonymize_ip': true });
</script>
<script>
!function(f,b,e,v,n,t,s){if(f.fbq)return;n=f.fbq=function(){n.callMethod?
n.callMethod.apply(n,arguments):n.queue.push(arguments)};if(!f._fbq)f._fbq=n;n.push=n;n.loaded=!0;
n.version='2.0';n.queue=[];t=b.createElement(e);t.async=!0;t.src=v;s=b.getElementsByTagName(e)[0];
s.parentNode.insertBefore(t,s)}(window, document,'script','https://connect.facebook.net/en_US/fbevents.js');
fbq('init', '482915736150284'); fbq('track', 'PageView');
</script>
<noscript><img height="1" width="1" style="display:none" src="https://www.facebook.com/tr?id=482915736150284&ev=PageView&noscript=1"/></noscript>
<script>(function(h,o,t,j,a,r){h.hj=h.hj||function(){(h.hj.q=h.hj.q||[]).push(arguments)};h._hjSettings={hjid:3819204,hjsv:6};a=o.getElementsByTagName('head')[0];r=o.createElement('script');r.async=1;r.src=t+h._hjSettings.hjid+j+h._hjSettings.hjsv;a.appendChild(r);})(window,document,'https://static.hotjar.com/c/hotjar-','.js?sv=');</script>
<script src="/wp-includes/js/jquery/jquery.min.js?ver=3.7.1" id="jquery-core-js"></script>
</head>
<body class="post-template-default single">
<noscript><iframe src="https://www.googletagmanager.com/ns.html?id=GTM-ABC1234" height="0" width="0" style="display:none;visibility:hidden"></iframe></noscript>
<header class="site-header"><p class="site-title"><a href="/">Northfield Gazette</a></p></header>
<main id="content"><article>
"#;

const TAIL: &str = "</article></main>\n<footer><p>&copy; Northfield Gazette</p></footer>\n<script src=\"/wp-content/themes/gazette/js/site.js?ver=2.4.1\"></script>\n</body>\n</html>\n";

/// A deterministic page of about `target` bytes.
fn page(target: usize) -> Vec<u8> {
    let words = [
        "council",
        "riverside",
        "housing",
        "bridge",
        "market",
        "residents",
        "plans",
        "the",
        "and",
        "of",
        "new",
        "cycle",
        "hall",
        "local",
        "business",
        "said",
        "would",
        "quarter",
        "year",
    ];
    let mut html = String::from(HEAD);
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut n = 0;
    while html.len() + TAIL.len() < target {
        let mut para = String::from("<p>");
        for _ in 0..40 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            para.push_str(words[(seed % words.len() as u64) as usize]);
            para.push(' ');
        }
        n += 1;
        if n % 3 == 0 {
            para.push_str(&format!("<a href=\"/news/{n}/\">Read more</a>"));
        }
        if n % 5 == 0 {
            para.push_str(&format!(
                "<img src=\"/uploads/{n}.jpg\" alt=\"\" loading=\"lazy\">"
            ));
        }
        para.push_str("</p>\n");
        if html.len() + para.len() + TAIL.len() > target && n > 1 {
            break;
        }
        html.push_str(&para);
    }
    html.push_str(TAIL);
    html.into_bytes()
}

fn rewrite(rw: &Rewriter, input: &[u8], client: Coding) -> usize {
    let mut body = BodyRewriter::new(rw, Coding::Identity, client, None);
    let mut n = 0;
    for chunk in input.chunks(16 * 1024) {
        n += body.push(chunk).expect("the bench page rewrites").len();
    }
    n + body.finish().expect("the bench page rewrites").len()
}

fn bench(c: &mut Criterion) {
    let rw = Rewriter::new(
        Arc::new(Catalogue::builtin()),
        RewriteSettings {
            inject_head_html: "<script src=\"/_gate/banner.3f2a9c1d.js\" defer></script><link rel=\"stylesheet\" href=\"/_gate/banner.3f2a9c1d.css\">".into(),
            ..RewriteSettings::default()
        },
    );
    let mut group = c.benchmark_group("rewrite");
    for (name, size) in [("2k", 2 * 1024), ("60k", 60 * 1024), ("500k", 500 * 1024)] {
        let input = page(size);
        group.throughput(Throughput::Bytes(input.len() as u64));
        group.bench_with_input(BenchmarkId::new("identity", name), &input, |b, input| {
            b.iter(|| rewrite(&rw, black_box(input), Coding::Identity))
        });
        group.bench_with_input(BenchmarkId::new("gzip1", name), &input, |b, input| {
            b.iter(|| rewrite(&rw, black_box(input), Coding::Gzip))
        });
    }
    // The reference harness's own pages, when given (kept with KEEP_WORKDIR=1 from
    // ../shared/bench/proxy-anchor.sh): CG_BENCH_PAGES=/path/to/www
    if let Some(dir) = std::env::var_os("CG_BENCH_PAGES") {
        for name in ["p2k", "p60k", "p500k"] {
            let Ok(input) = std::fs::read(std::path::Path::new(&dir).join(format!("{name}.html")))
            else {
                continue;
            };
            group.throughput(Throughput::Bytes(input.len() as u64));
            group.bench_with_input(
                BenchmarkId::new("anchor_identity", name),
                &input,
                |b, input| b.iter(|| rewrite(&rw, black_box(input), Coding::Identity)),
            );
        }
    }
    // Floors for comparison: lol_html alone injecting one tag, and lol_html with our selectors
    // but handlers that do nothing.
    {
        let (name, input) = ("60k", page(60 * 1024));
        group.throughput(Throughput::Bytes(input.len() as u64));
        group.bench_with_input(
            BenchmarkId::new("floor_lolhtml_inject_only", name),
            &input,
            |b, input| {
                b.iter(|| {
                    let mut out = Vec::with_capacity(input.len() + 200);
                    let mut r = lol_html::HtmlRewriter::new(
                        lol_html::Settings::new().append_element_content_handler(
                            lol_html::element!("head", |el| {
                                el.prepend(
                                    "<script src=x></script>",
                                    lol_html::html_content::ContentType::Html,
                                );
                                Ok(())
                            }),
                        ),
                        |c: &[u8]| out.extend_from_slice(c),
                    );
                    for chunk in input.chunks(16 * 1024) {
                        r.write(chunk).unwrap();
                    }
                    r.end().unwrap();
                    out.len()
                })
            },
        );
        group.bench_with_input(
            BenchmarkId::new("floor_lolhtml_noop_selectors", name),
            &input,
            |b, input| {
                b.iter(|| {
                    let mut out = Vec::with_capacity(input.len() + 200);
                    let mut r = lol_html::HtmlRewriter::new(
                        lol_html::Settings::new()
                            .append_element_content_handler(lol_html::element!(
                                "head",
                                |_el| Ok(())
                            ))
                            .append_element_content_handler(lol_html::element!("script", |_el| Ok(
                                ()
                            )))
                            .append_element_content_handler(lol_html::text!("script", |_el| Ok(())))
                            .append_element_content_handler(lol_html::element!(
                                "img, iframe, source",
                                |_el| Ok(())
                            ))
                            .append_element_content_handler(lol_html::element!(
                                "link[href]",
                                |_el| Ok(())
                            ))
                            .append_element_content_handler(lol_html::text!("noscript", |_el| Ok(
                                ()
                            )))
                            .append_element_content_handler(lol_html::element!(
                                "body",
                                |_el| Ok(())
                            ))
                            .append_element_content_handler(lol_html::element!(
                                "title, meta, base, style, template",
                                |_el| Ok(())
                            )),
                        |c: &[u8]| out.extend_from_slice(c),
                    );
                    for chunk in input.chunks(16 * 1024) {
                        r.write(chunk).unwrap();
                    }
                    r.end().unwrap();
                    out.len()
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
