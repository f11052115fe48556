//! The banner-text archive: every version of the banner texts a receipt refers to, kept by the
//! hash the receipt carries, so an operator (and a regulator) can read exactly what the visitor
//! was shown. The archived bytes are the ones the hash was computed over, so anyone can check
//! that they belong to the receipt. A version is archived when the first receipt refers to it
//! (`ConsentService::record` writes it) and lives as long as the longest-lived receipt that
//! does; this file reads it back.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::record::RecordError;
use super::ConsentService;
use crate::http::assets::sha256_hex;

/// One category as the visitor saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShownCategory {
    pub id: String,
    pub name: String,
    pub description: String,
}

/// One vendor as the visitor saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShownVendor {
    pub id: String,
    pub name: String,
    #[serde(rename = "desc")]
    pub description: String,
    #[serde(rename = "cat")]
    pub category: String,
    /// Cookie names (`_ga`) and prefixes (`_ga_*`).
    pub cookies: Vec<String>,
    /// Hosts the banner listed for the vendor (versions before the guard had its own rules);
    /// empty for later versions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<String>,
}

/// What one version of the banner showed, in one language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShownContent {
    /// Banner texts by key (`title`, `intro`, … as in assets/i18n; `retention.<vendor>`).
    pub texts: BTreeMap<String, String>,
    pub categories: Vec<ShownCategory>,
    pub vendors: Vec<ShownVendor>,
    /// The privacy statement link.
    pub privacy: String,
}

/// The JSON the texts hash covers (see `Bundle::build`): categories are `[id, name, desc]`.
#[derive(Deserialize)]
struct ShownJson {
    texts: BTreeMap<String, String>,
    categories: Vec<(String, String, String)>,
    vendors: Vec<ShownVendor>,
    privacy: String,
}

impl ShownContent {
    /// Read the bytes a texts hash was computed over; `None` if they are not that shape.
    pub(crate) fn parse(body: &[u8]) -> Option<ShownContent> {
        let parsed: ShownJson = serde_json::from_slice(body).ok()?;
        Some(ShownContent {
            texts: parsed.texts,
            categories: parsed
                .categories
                .into_iter()
                .map(|(id, name, description)| ShownCategory {
                    id,
                    name,
                    description,
                })
                .collect(),
            vendors: parsed.vendors,
            privacy: parsed.privacy,
        })
    }
}

/// A version of the banner texts, read back from the archive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ShownTexts {
    /// The texts hash receipts carry.
    pub hash: String,
    /// Whether the archived bytes still hash to `hash` (false = altered in the store).
    pub verified: bool,
    /// Policy revision in force when it was first used.
    pub revision: u32,
    pub language: String,
    /// First and last receipt that referred to it, unix seconds.
    pub first_used: u64,
    pub last_used: u64,
    #[serde(flatten)]
    pub content: ShownContent,
}

impl ConsentService {
    /// The archived banner texts with this hash; `None` when none are archived (never used
    /// by a receipt, or every receipt referring to them has expired).
    pub async fn shown_texts(&self, hash: &str) -> Result<Option<ShownTexts>, RecordError> {
        let Some(record) = self.store.get_texts(hash).await? else {
            return Ok(None);
        };
        let content = ShownContent::parse(&record.body).ok_or(RecordError::Corrupt)?;
        Ok(Some(ShownTexts {
            hash: hash.to_owned(),
            verified: sha256_hex(&record.body) == hash,
            revision: record.revision,
            language: record.language,
            first_used: record.first_used,
            last_used: record.last_used,
            content,
        }))
    }

    /// What the banner shows now in `language` (`nl`, `en`).
    pub fn current_texts(&self, language: &str) -> Option<ShownContent> {
        self.bundle
            .texts_shown
            .get(language)
            .and_then(|body| ShownContent::parse(body.as_bytes()))
    }
}
