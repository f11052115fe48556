//! Builds the banner bundle once at start: guard.js with the catalogue's URL rules built in,
//! banner.js with the site's texts, categories and vendor list built in, banner.css, and, when
//! the gate relays Google Analytics, relay.js with the relay's URL rules (all content-hashed
//! assets with immutable URLs), and the hash of the texts shown per language (recorded in
//! receipts).

use std::collections::BTreeMap;

use serde::Serialize;

use super::model::TEXTS_HASH_SHORT;
use crate::config::{
    ConsentConfig, GaRelayConfig, CONSENT_LANGUAGES, GA_VENDOR, GTM_VENDOR, RELAY_PREFIX,
};
use crate::http::assets::{sha256_hex, HashedAsset};
use crate::trackers::{Catalogue, Category};

// Minified by build.rs from the readable assets/banner/banner.js and guard.js.
const JS_TEMPLATE: &str = include_str!(concat!(env!("OUT_DIR"), "/banner.min.js"));
const GUARD_TEMPLATE: &str = include_str!(concat!(env!("OUT_DIR"), "/guard.min.js"));
const RELAY_TEMPLATE: &str = include_str!(concat!(env!("OUT_DIR"), "/relay.min.js"));
const RELAY_TOKEN: &str = "__CG_RELAY__";
const CSS: &str = include_str!("../../assets/banner/banner.css");
/// Served as written (small, and only on pages with a click-to-load placeholder).
const EMBED_JS: &str = include_str!("../../assets/banner/embed.js");
const CONFIG_TOKEN: &str = "__CG_CONFIG__";
const GUARD_TOKEN: &str = "__CG_GUARD__";
/// The queue stubs guard.js defines, with the vendor whose category decides whether banner.js
/// hands their queued calls to the real library (granted) or drops them (refused).
const STUBS: [(&str, &str); 5] = [
    ("ga", "google_analytics"),
    ("_gaq", "google_analytics"),
    ("_gat", "google_analytics"),
    ("hj", "hotjar"),
    ("fbq", "meta_pixel"),
];
pub(crate) const BUILTIN_TEXTS: [(&str, &str); 2] = [
    ("nl", include_str!("../../assets/i18n/nl.json")),
    ("en", include_str!("../../assets/i18n/en.json")),
];

/// Texts only vendors.json carries (resolved per vendor), left out of banner.js.
const SECOND_LAYER_TEXTS: [&str; 3] = [ADDRESS_RELAYED, ADDRESS_DIRECT, "retention_unknown"];

/// Why the bundle could not be built (a config problem naming its key).
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("assets/i18n/{0}.json is not valid: {1}")]
    Texts(&'static str, String),
}

/// The built banner.
pub struct Bundle {
    /// `guard.<hash>.js`: the synchronous runtime guard, first in `<head>`.
    pub guard: HashedAsset,
    /// `banner.<hash>.js`.
    pub js: HashedAsset,
    /// `banner.<hash>.css`.
    pub css: HashedAsset,
    /// `relay.<hash>.js`, right after the guard, when the gate relays Google Analytics.
    pub relay: Option<HashedAsset>,
    /// SHA-256 hex of the texts shown, per language.
    pub texts_hash: BTreeMap<String, String>,
    /// Exactly the JSON each `texts_hash` was computed over (texts, categories, vendors,
    /// privacy link), per language: what the banner-text archive keeps.
    pub texts_shown: BTreeMap<String, String>,
    /// `embed.<hash>.js`: wires the click-to-load placeholders; only on pages that have one.
    pub embed: HashedAsset,
    /// `vendors.<hash>.json`: the second layer's vendor details (purpose, cookies, address)
    /// per language, fetched by banner.js when the settings open, so the broad catalogue does
    /// not weigh on every page view.
    pub vendors: HashedAsset,
    /// Optional categories in display order (analytics, marketing, then operator-defined).
    pub optional: Vec<String>,
}

#[derive(Serialize)]
struct CategoryOut<'a> {
    id: &'a str,
    n: BTreeMap<&'a str, String>,
    d: BTreeMap<&'a str, String>,
}

/// A vendor as banner.js carries it on every page, `[id, name, category]`: enough to name it
/// on the first layer and to know its category (an array: the names of an object's fields,
/// repeated for every vendor, cost the banner's budget more than they explain).
type VendorOut<'a> = [&'a str; 3];

/// A vendor as the second layer shows it, in one language (also what the texts hash covers).
#[derive(Serialize)]
struct VendorDetail<'a> {
    id: &'a str,
    name: &'a str,
    desc: &'a str,
    cat: &'a str,
    cookies: Vec<String>,
    /// The text key of what the vendor learns of the visitor's address after consent.
    ip: &'static str,
}

/// A vendor as vendors.json ships it to the second layer, in one language: its texts resolved
/// (they are not in banner.js, which every page loads).
#[derive(Serialize)]
struct VendorShipped<'a> {
    id: &'a str,
    desc: &'a str,
    cookies: &'a [String],
    /// What the vendor learns of the visitor's address.
    ip: &'a str,
    /// How long its cookies stay (`retention.<id>`, else `retention_unknown`).
    r: &'a str,
}

/// Text key: the vendor is reached only through the gate's relay.
pub const ADDRESS_RELAYED: &str = "address_relayed";
/// Text key: the visitor's browser contacts the vendor itself.
pub const ADDRESS_DIRECT: &str = "address_direct";

#[derive(Serialize)]
struct ConfigOut<'a> {
    lang: &'a str,
    privacy: &'a str,
    gpc: bool,
    t: &'a BTreeMap<&'a str, BTreeMap<String, String>>,
    /// The first [`TEXTS_HASH_SHORT`] hex digits of each language's texts hash.
    h: BTreeMap<&'a str, &'a str>,
    c: Vec<CategoryOut<'a>>,
    v: Vec<VendorOut<'a>>,
    /// URL of the vendor details (`vendors.<hash>.json`).
    vd: String,
    /// Queue stub → category.
    s: BTreeMap<&'a str, &'a str>,
}

/// The consent category a vendor belongs to.
pub fn category_id(c: &Category) -> &str {
    c.as_str()
}

impl Bundle {
    /// The bundle for a gate that relays nothing.
    pub fn build(cfg: &ConsentConfig, catalogue: &Catalogue) -> Result<Bundle, BundleError> {
        Self::build_with_relay(cfg, catalogue, &GaRelayConfig::default())
    }

    /// The bundle; with the relay on, relay.js too, and the relayed vendors' texts say the
    /// visitor's address is not passed on.
    pub fn build_with_relay(
        cfg: &ConsentConfig,
        catalogue: &Catalogue,
        relay: &GaRelayConfig,
    ) -> Result<Bundle, BundleError> {
        let relayed = |id: &str| relay.enabled() && (id == GA_VENDOR || id == GTM_VENDOR);
        let mut texts: BTreeMap<&str, BTreeMap<String, String>> = BTreeMap::new();
        for (lang, json) in BUILTIN_TEXTS {
            let mut t: BTreeMap<String, String> =
                serde_json::from_str(json).map_err(|e| BundleError::Texts(lang, e.to_string()))?;
            if let Some(over) = cfg.texts.get(lang) {
                t.extend(over.clone());
            }
            texts.insert(lang, t);
        }
        let mut optional: Vec<String> = vec!["analytics".into(), "marketing".into()];
        for c in &cfg.categories {
            optional.push(c.id.clone());
        }
        // A vendor the operator put in a category without describing it still gets a switch.
        for v in catalogue.vendors() {
            let id = category_id(&v.category);
            if !optional.iter().any(|o| o == id) {
                optional.push(id.to_owned());
            }
        }
        let categories: Vec<CategoryOut> = optional
            .iter()
            .map(|id| {
                let configured = cfg.categories.iter().find(|c| &c.id == id);
                // A vendor in a category of its own (embedded media): the switch is the vendor,
                // described in its vendor list (not twice: every byte is on every page).
                let own = catalogue
                    .vendor(id)
                    .filter(|v| category_id(&v.category) == id);
                let mut n = BTreeMap::new();
                let mut d = BTreeMap::new();
                for lang in CONSENT_LANGUAGES {
                    let t = &texts[lang];
                    let (name, desc) = match configured {
                        Some(c) => (
                            c.name.get(*lang).cloned().unwrap_or_else(|| id.clone()),
                            c.description.get(*lang).cloned().unwrap_or_default(),
                        ),
                        None if own.is_some() => (
                            own.map(|v| v.name.clone()).unwrap_or_default(),
                            String::new(),
                        ),
                        None => (
                            t.get(&format!("{id}_name"))
                                .cloned()
                                .unwrap_or_else(|| id.clone()),
                            t.get(&format!("{id}_desc")).cloned().unwrap_or_default(),
                        ),
                    };
                    n.insert(*lang, name);
                    d.insert(*lang, desc);
                }
                CategoryOut { id, n, d }
            })
            .collect();
        let vendors: Vec<VendorOut> = catalogue
            .vendors()
            .iter()
            .map(|v| [v.id.as_str(), v.name.as_str(), category_id(&v.category)])
            .collect();
        let details = |lang: &str| -> Vec<VendorDetail> {
            catalogue
                .vendors()
                .iter()
                .map(|v| VendorDetail {
                    id: &v.id,
                    name: &v.name,
                    desc: v.description.get(lang),
                    cat: category_id(&v.category),
                    cookies: v
                        .cookie_names
                        .iter()
                        .cloned()
                        .chain(v.cookie_prefixes.iter().map(|p| format!("{p}*")))
                        .collect(),
                    ip: if relayed(&v.id) {
                        ADDRESS_RELAYED
                    } else {
                        ADDRESS_DIRECT
                    },
                })
                .collect()
        };
        let details_json: BTreeMap<&str, Vec<VendorDetail>> = CONSENT_LANGUAGES
            .iter()
            .map(|lang| (*lang, details(lang)))
            .collect();
        let text = |lang: &str, key: &str| -> &str {
            texts
                .get(lang)
                .and_then(|t| t.get(key))
                .map_or("", String::as_str)
        };
        let shipped_details: BTreeMap<&str, Vec<VendorShipped>> = details_json
            .iter()
            .map(|(lang, vendors)| {
                let list = vendors
                    .iter()
                    .map(|v| VendorShipped {
                        id: v.id,
                        desc: v.desc,
                        cookies: &v.cookies,
                        ip: text(lang, v.ip),
                        r: texts
                            .get(lang)
                            .and_then(|t| t.get(&format!("retention.{}", v.id)))
                            .map_or_else(|| text(lang, "retention_unknown"), String::as_str),
                    })
                    .collect();
                (*lang, list)
            })
            .collect();
        let vendors_asset = HashedAsset::new(
            "vendors",
            "json",
            "application/json",
            serde_json::to_vec(&shipped_details).unwrap_or_else(|_| b"{}".to_vec()),
        );
        // The hash covers everything a visitor reads in one language, so a receipt proves
        // exactly which wording was consented to.
        let mut texts_hash = BTreeMap::new();
        let mut texts_shown = BTreeMap::new();
        for lang in CONSENT_LANGUAGES {
            let shown = serde_json::json!({
                "texts": texts[lang],
                "categories": categories.iter().map(|c| (c.id, &c.n[lang], &c.d[lang])).collect::<Vec<_>>(),
                "vendors": details_json.get(lang),
                "privacy": cfg.privacy_statement_url,
            });
            let shown = shown.to_string();
            texts_hash.insert((*lang).to_owned(), sha256_hex(shown.as_bytes()));
            texts_shown.insert((*lang).to_owned(), shown);
        }
        // The categories' names and descriptions travel in `c`, the vendors' address and
        // retention notes in vendors.json (second layer only); not twice.
        let mut shipped = texts.clone();
        for t in shipped.values_mut() {
            t.retain(|key, _| {
                !SECOND_LAYER_TEXTS.contains(&key.as_str())
                    && !key.starts_with("retention.")
                    && !optional
                        .iter()
                        .any(|id| *key == format!("{id}_name") || *key == format!("{id}_desc"))
            });
        }
        let out = ConfigOut {
            lang: &cfg.default_language,
            privacy: &cfg.privacy_statement_url,
            gpc: cfg.honour_gpc,
            t: &shipped,
            h: texts_hash
                .iter()
                .map(|(lang, hash)| (lang.as_str(), hash.get(..TEXTS_HASH_SHORT).unwrap_or(hash)))
                .collect(),
            c: categories,
            v: vendors,
            vd: vendors_asset.url(),
            s: stub_categories(catalogue),
        };
        let js = JS_TEMPLATE.replacen(CONFIG_TOKEN, &script_json(&out), 1);
        let guard = GUARD_TEMPLATE.replacen(GUARD_TOKEN, &script_json(&guard_config(catalogue)), 1);
        let relay = relay.enabled().then(|| {
            let js = RELAY_TEMPLATE.replacen(RELAY_TOKEN, &script_json(&relay_rules(catalogue)), 1);
            HashedAsset::new(
                "relay",
                "js",
                "text/javascript; charset=utf-8",
                js.into_bytes(),
            )
        });
        Ok(Bundle {
            guard: HashedAsset::new(
                "guard",
                "js",
                "text/javascript; charset=utf-8",
                guard.into_bytes(),
            ),
            js: HashedAsset::new(
                "banner",
                "js",
                "text/javascript; charset=utf-8",
                js.into_bytes(),
            ),
            css: HashedAsset::new(
                "banner",
                "css",
                "text/css; charset=utf-8",
                CSS.as_bytes().to_vec(),
            ),
            relay,
            embed: HashedAsset::new(
                "embed",
                "js",
                "text/javascript; charset=utf-8",
                EMBED_JS.as_bytes().to_vec(),
            ),
            vendors: vendors_asset,
            texts_hash,
            texts_shown,
            optional,
        })
    }
}

/// JSON to embed in a script: serde_json escapes quotes; `</` is escaped too so the JSON can
/// never end the script. `null` (the scripts then do nothing) if it cannot be serialised.
fn script_json(value: &impl Serialize) -> String {
    serde_json::to_string(value)
        .unwrap_or_else(|_| "null".into())
        .replace("</", "<\\/")
}

#[derive(Serialize)]
struct GuardConfig<'a> {
    /// Host rules `[host, path prefix or "", category]`, most specific first (longer path
    /// prefix, then longer host), so the first match is the one the catalogue would choose.
    h: Vec<[&'a str; 3]>,
    /// First-party loader paths `[path suffix, query marker, category]`, lower case.
    p: Vec<[&'a str; 3]>,
}

/// What guard.js needs to know: the catalogue's URL rules, in the order its matcher prefers
/// them (host rules, most specific first, then loader paths).
fn guard_config(catalogue: &Catalogue) -> GuardConfig<'_> {
    let mut hosts: Vec<[&str; 3]> = catalogue
        .vendors()
        .iter()
        .flat_map(|v| {
            v.hosts.iter().map(|h| {
                [
                    h.host.as_str(),
                    h.path_prefix.as_deref().unwrap_or(""),
                    category_id(&v.category),
                ]
            })
        })
        .collect();
    // Stable: equally specific rules keep the catalogue's order, as its matcher does.
    hosts.sort_by_key(|r| std::cmp::Reverse((r[1].len(), r[0].len())));
    let paths = catalogue
        .vendors()
        .iter()
        .flat_map(|v| {
            v.paths.iter().map(|p| {
                [
                    p.path_suffix.as_str(),
                    p.query_contains.as_str(),
                    category_id(&v.category),
                ]
            })
        })
        .collect();
    GuardConfig { h: hosts, p: paths }
}

/// relay.js's rules, `[host, path prefix, category, id prefix, target prefix]`, first match
/// wins: GA4 hits to the relay, gtag.js and gtm.js of GA4 and GTM ids to the relay (the gate
/// refuses ids it is not configured for, so those never reach Google either), and what
/// Google would learn from without use to the site — Google signals copies of hits, Tag
/// Manager's pings and service-worker frame — to `/drop/`, answered and never forwarded. Each
/// applies once the vendor's category is granted (before that the guard blocks the URL).
fn relay_rules(catalogue: &Catalogue) -> serde_json::Value {
    let category = |vendor: &str| {
        catalogue
            .vendor(vendor)
            .map_or("analytics", |v| category_id(&v.category))
            .to_owned()
    };
    let (ga, gtm) = (category(GA_VENDOR), category(GTM_VENDOR));
    let (hits, drop) = (format!("{RELAY_PREFIX}/ga"), format!("{RELAY_PREFIX}/drop"));
    serde_json::json!([
        ["google-analytics.com", "/g/collect", ga, "", hits],
        ["analytics.google.com", "/g/collect", ga, "", hits],
        ["doubleclick.net", "/g/collect", ga, "", drop],
        ["googletagmanager.com", "/gtag/js", ga, "G-", RELAY_PREFIX],
        [
            "googletagmanager.com",
            "/gtag/destination",
            ga,
            "G-",
            RELAY_PREFIX
        ],
        ["googletagmanager.com", "/gtm.js", gtm, "GTM-", RELAY_PREFIX],
        ["googletagmanager.com", "/td", gtm, "", drop],
        ["googletagmanager.com", "/a", gtm, "", drop],
        ["googletagmanager.com", "/static", gtm, "", drop],
    ])
}

/// Each queue stub's category (a stub whose vendor is missing is left out: its calls are
/// dropped).
fn stub_categories(catalogue: &Catalogue) -> BTreeMap<&'static str, &str> {
    STUBS
        .iter()
        .filter_map(|(name, vendor)| {
            Some((*name, category_id(&catalogue.vendor(vendor)?.category)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn i18n_files_have_exactly_the_documented_keys() {
        for (lang, json) in BUILTIN_TEXTS {
            let t: BTreeMap<String, String> = serde_json::from_str(json).unwrap();
            let mut keys: Vec<&str> = t
                .keys()
                .map(String::as_str)
                .filter(|k| !k.starts_with("retention."))
                .collect();
            keys.sort_unstable();
            let mut expected = crate::config::CONSENT_TEXT_KEYS.to_vec();
            expected.sort_unstable();
            assert_eq!(keys, expected, "{lang}");
        }
    }

    #[test]
    fn templates_have_their_config_slot() {
        assert_eq!(JS_TEMPLATE.matches(CONFIG_TOKEN).count(), 1);
        assert_eq!(GUARD_TEMPLATE.matches(GUARD_TOKEN).count(), 1);
        assert_eq!(RELAY_TEMPLATE.matches(RELAY_TOKEN).count(), 1);
    }

    #[test]
    fn with_the_relay_on_relay_js_is_built_and_google_is_said_not_to_get_the_address() {
        let cat = Catalogue::builtin();
        let off = Bundle::build(&ConsentConfig::default(), &cat).unwrap();
        assert!(off.relay.is_none());
        let relay = GaRelayConfig {
            measurement_ids: vec!["G-ABC123XYZ".into()],
            ..GaRelayConfig::default()
        };
        let on = Bundle::build_with_relay(&ConsentConfig::default(), &cat, &relay).unwrap();
        let js = String::from_utf8_lossy(&on.relay.as_ref().unwrap().body).into_owned();
        assert!(
            js.contains(
                r#"["google-analytics.com","/g/collect","analytics","","/_gate/relay/ga"]"#
            ),
            "{js}"
        );
        assert!(!js.contains(RELAY_TOKEN));
        let vendor_notes = |b: &Bundle| {
            let shown: serde_json::Value = serde_json::from_str(&b.texts_shown["en"]).unwrap();
            shown["vendors"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| {
                    (
                        v["id"].as_str().unwrap().to_owned(),
                        v["ip"].as_str().unwrap().to_owned(),
                    )
                })
                .collect::<BTreeMap<String, String>>()
        };
        let (off_notes, on_notes) = (vendor_notes(&off), vendor_notes(&on));
        assert_eq!(off_notes["google_analytics"], ADDRESS_DIRECT);
        assert_eq!(on_notes["google_analytics"], ADDRESS_RELAYED);
        assert_eq!(on_notes["google_tag_manager"], ADDRESS_RELAYED);
        assert_eq!(on_notes["hotjar"], ADDRESS_DIRECT);
        assert_eq!(on_notes["meta_pixel"], ADDRESS_DIRECT);
        // What the visitor reads changed, so receipts say which version they consented to.
        assert_ne!(off.texts_hash["nl"], on.texts_hash["nl"]);
    }

    #[test]
    fn guard_rules_put_the_most_specific_first() {
        let cat = Catalogue::builtin();
        let config = guard_config(&cat);
        let gtag = config
            .h
            .iter()
            .position(|r| r[0] == "googletagmanager.com" && r[1] == "/gtag/js")
            .unwrap();
        let gtm = config
            .h
            .iter()
            .position(|r| r[0] == "googletagmanager.com" && r[1].is_empty())
            .unwrap();
        assert!(gtag < gtm, "{:?}", config.h);
        assert!(config.p.contains(&["/gtm.js", "id=gtm-", "analytics"]));
        let stubs = stub_categories(&cat);
        assert_eq!(stubs["fbq"], "marketing");
        assert_eq!(stubs["ga"], "analytics");
        let b = Bundle::build(&ConsentConfig::default(), &cat).unwrap();
        let guard = String::from_utf8_lossy(&b.guard.body);
        assert!(!guard.contains(GUARD_TOKEN) && guard.contains("\"connect.facebook.net\""));
        assert!(b.guard.name.starts_with("guard.") && b.guard.name.ends_with(".js"));
    }

    #[test]
    fn text_override_changes_the_texts_hash_and_the_url() {
        let cat = Catalogue::builtin();
        let a = Bundle::build(&ConsentConfig::default(), &cat).unwrap();
        let mut cfg = ConsentConfig::default();
        cfg.texts
            .entry("en".into())
            .or_default()
            .insert("title".into(), "Cookies, briefly".into());
        let b = Bundle::build(&cfg, &cat).unwrap();
        assert_eq!(a.texts_hash["nl"], b.texts_hash["nl"]);
        assert_ne!(a.texts_hash["en"], b.texts_hash["en"]);
        assert_ne!(a.js.name, b.js.name);
        assert!(String::from_utf8_lossy(&b.js.body).contains("Cookies, briefly"));
    }

    #[test]
    fn operator_category_gets_a_switch_with_its_vendors() {
        let (config, _) = crate::config::Config::from_toml(
            "[upstream]\nurl = \"http://x\"\n[trackers.categories]\nhotjar = \"recordings\"\n\
             [[consent.categories]]\nid = \"recordings\"\n\
             name = { nl = \"Sessie-opnames\", en = \"Session recordings\" }\n\
             description = { nl = \"Opnames van muisbewegingen.\", en = \"Recordings of mouse movements.\" }\n",
            &std::collections::BTreeMap::from([(
                crate::config::ENV_SECRET.to_owned(),
                "0123456789abcdef0123456789abcdef-test".to_owned(),
            )]),
        )
        .unwrap();
        let catalogue = Catalogue::from_config(&config.trackers);
        let b = Bundle::build(&config.consent, &catalogue).unwrap();
        let js = String::from_utf8_lossy(&b.js.body);
        // The embeds' own switches (named after their vendor) follow the declared ones.
        assert_eq!(
            b.optional,
            vec![
                "analytics",
                "marketing",
                "recordings",
                "youtube",
                "vimeo",
                "google_maps"
            ]
        );
        assert!(js.contains(r#"{"id":"youtube","n":{"en":"YouTube (Google)""#));
        let js = String::from_utf8_lossy(&b.js.body);
        assert!(js.contains("Sessie-opnames") && js.contains("Session recordings"));
        assert!(
            js.contains(r#""Hotjar","recordings"]"#),
            "hotjar listed under its category"
        );
    }
}
