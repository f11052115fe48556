//! Redis key layout. Every key starts with a hash tag `{<prefix>:<kind>:<record>}` so that all
//! keys of one record (a receipt and its history; a form's entries and indexes) live in one
//! Redis Cluster slot and can change together in one `MULTI`.
//!
//! | key | type | TTL |
//! |-----|------|-----|
//! | `{p:receipt:<id>}:cur` | string, current receipt | put ttl |
//! | `{p:receipt:<id>}:hist` | list, the newest receipts, oldest first (capped) | put ttl (refreshed) |
//! | `{p:receipt:<id>}:seq` | integer, decisions ever put for the id | put ttl (refreshed) |
//! | `{p:rcpts}:t` | zset `<id>:<seq>` → decision time (unix ms), every action | longest member ttl |
//! | `{p:rcpts}:t:<action>` | zset, the same for one action | longest member ttl |
//! | `{p:rcpts}:exp` | zset `<id>:<seq>` → expiry (unix ms) | longest member ttl |
//! | `{p:rcpts}:d` | hash `<id>:<seq>` → receipt | longest member ttl |
//! | `{p:rcpts}:actions` | set of actions with an index (no personal data) | longest member ttl |
//! | `{p:texts:<hash>}` | hash `body`, `rev`, `lang`, `first`, `last` (banner texts) | longest receipt ttl |
//! | `{p:form:<form>}:e:<id>` | hash `created`, `ct`, `eh` | put ttl |
//! | `{p:form:<form>}:idx` | zset id → created (unix s) | longest entry ttl |
//! | `{p:form:<form>}:exp` | zset id → expiry (unix ms) | longest entry ttl |
//! | `{p:form:<form>}:ridx` | zset id → created, restricted entries only | longest entry ttl |
//! | `{p:form:<form>}:email:<hash>` | set of ids (e-mail, name and phone hashes alike) | longest entry ttl |
//! | `{p:form:<form>}:dk:<day>:<key id>` | string, a wrapped per-day data key | end of day + retention |
//! | `{p:dsr}:r:<id>` | hash `v` (version), `d` (sealed request) | put ttl |
//! | `{p:dsr}:idx` | zset id → expiry (unix ms), every request | longest member ttl |
//! | `{p:dsr}:due` | zset id → due day, open requests only | longest member ttl |
//! | `{p:forms}` | set of form ids that ever held entries (no personal data) | none |
//! | `{p:ctr:<name>:<day>}` | hash field → count | none |
//! | `{p:uniq:<name>:<day>}` | HyperLogLog | none |
//! | `{p:adm:<name>:<day>}` | set of values counted on the day (paths, referrer hosts, …) | 3 days, refreshed |
//! | `{p:salt:<day>}` | string, the day's 32 random bytes (visitor hashing) | 48 h |
//! | `{p:apitok}` | hash token SHA-256 → token record (operator, label, times) | longest token ttl |
//! | `{p:sess:<id>}` | string | idle, refreshed on read |
//! | `{p:audit}` | stream, field `e` | retention (refreshed); trimmed by MAXLEN/MINID |
//! | `{p:rl:<key>}` | integer | window |
//! | `{p:shared:<name>}` | string, a value every gate uses alike (a rotating secret) | put ttl, never extended |
//!
//! Braces and `%` in caller-supplied parts are percent-encoded so a part can never end the hash
//! tag early or collide with another record's keys.

use std::borrow::Cow;

/// Builds every key name from the configured prefix (`store.key_prefix`, default `"cg"`).
#[derive(Debug, Clone)]
pub struct KeyLayout {
    prefix: String,
}

fn part(s: &str) -> Cow<'_, str> {
    if s.contains(['{', '}', '%']) {
        let mut out = String::with_capacity(s.len() + 8);
        for c in s.chars() {
            match c {
                '{' => out.push_str("%7B"),
                '}' => out.push_str("%7D"),
                '%' => out.push_str("%25"),
                c => out.push(c),
            }
        }
        Cow::Owned(out)
    } else {
        Cow::Borrowed(s)
    }
}

impl KeyLayout {
    pub fn new(prefix: &str) -> Self {
        Self {
            prefix: part(prefix).into_owned(),
        }
    }

    pub fn receipt_current(&self, id: &str) -> String {
        format!("{{{}:receipt:{}}}:cur", self.prefix, part(id))
    }
    pub fn receipt_history(&self, id: &str) -> String {
        format!("{{{}:receipt:{}}}:hist", self.prefix, part(id))
    }
    pub fn receipt_seq(&self, id: &str) -> String {
        format!("{{{}:receipt:{}}}:seq", self.prefix, part(id))
    }
    fn receipts_tag(&self) -> String {
        format!("{{{}:rcpts}}", self.prefix)
    }
    pub fn receipt_index(&self) -> String {
        format!("{}:t", self.receipts_tag())
    }
    pub fn receipt_index_action(&self, action: &str) -> String {
        format!("{}:t:{}", self.receipts_tag(), part(action))
    }
    pub fn receipt_index_expiry(&self) -> String {
        format!("{}:exp", self.receipts_tag())
    }
    pub fn receipt_index_data(&self) -> String {
        format!("{}:d", self.receipts_tag())
    }
    pub fn receipt_index_actions(&self) -> String {
        format!("{}:actions", self.receipts_tag())
    }
    /// The index member of one decision: `<id>:<seq>`.
    pub fn receipt_member(id: &str, seq: u64) -> String {
        format!("{id}:{seq}")
    }
    pub fn texts(&self, hash: &str) -> String {
        format!("{{{}:texts:{}}}", self.prefix, part(hash))
    }
    fn form_tag(&self, form: &str) -> String {
        format!("{{{}:form:{}}}", self.prefix, part(form))
    }
    pub fn form_entry(&self, form: &str, id: &str) -> String {
        format!("{}:e:{}", self.form_tag(form), part(id))
    }
    pub fn form_index(&self, form: &str) -> String {
        format!("{}:idx", self.form_tag(form))
    }
    pub fn form_expiry(&self, form: &str) -> String {
        format!("{}:exp", self.form_tag(form))
    }
    pub fn form_restricted(&self, form: &str) -> String {
        format!("{}:ridx", self.form_tag(form))
    }
    /// The index set of one lookup hash (the name predates name and phone hashes).
    pub fn form_email(&self, form: &str, hash: &str) -> String {
        format!("{}:email:{}", self.form_tag(form), part(hash))
    }
    pub fn form_data_key(&self, form: &str, name: &str) -> String {
        format!("{}:dk:{}", self.form_tag(form), part(name))
    }
    fn dsr_tag(&self) -> String {
        format!("{{{}:dsr}}", self.prefix)
    }
    pub fn dsr_request(&self, id: &str) -> String {
        format!("{}:r:{}", self.dsr_tag(), part(id))
    }
    pub fn dsr_index(&self) -> String {
        format!("{}:idx", self.dsr_tag())
    }
    pub fn dsr_due(&self) -> String {
        format!("{}:due", self.dsr_tag())
    }
    pub fn forms(&self) -> String {
        format!("{{{}:forms}}", self.prefix)
    }
    pub fn counters(&self, name: &str, day: &str) -> String {
        format!("{{{}:ctr:{}:{}}}", self.prefix, part(name), part(day))
    }
    pub fn unique(&self, name: &str, day: &str) -> String {
        format!("{{{}:uniq:{}:{}}}", self.prefix, part(name), part(day))
    }
    pub fn admitted(&self, name: &str, day: &str) -> String {
        format!("{{{}:adm:{}:{}}}", self.prefix, part(name), part(day))
    }
    pub fn salt(&self, day: &str) -> String {
        format!("{{{}:salt:{}}}", self.prefix, part(day))
    }
    pub fn api_tokens(&self) -> String {
        format!("{{{}:apitok}}", self.prefix)
    }
    pub fn session(&self, id: &str) -> String {
        format!("{{{}:sess:{}}}", self.prefix, part(id))
    }
    pub fn audit(&self) -> String {
        format!("{{{}:audit}}", self.prefix)
    }
    pub fn rate_limit(&self, key: &str) -> String {
        format!("{{{}:rl:{}}}", self.prefix, part(key))
    }
    pub fn shared(&self, name: &str) -> String {
        format!("{{{}:shared:{}}}", self.prefix, part(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The part of a key Redis Cluster hashes (same rule as the server).
    fn hash_tag(key: &str) -> &str {
        if let Some(open) = key.find('{') {
            if let Some(len) = key[open + 1..].find('}') {
                if len > 0 {
                    return &key[open + 1..open + 1 + len];
                }
            }
        }
        key
    }

    #[test]
    fn keys_of_one_record_share_a_cluster_slot() {
        let k = KeyLayout::new("cg");
        assert_eq!(
            hash_tag(&k.receipt_current("abc")),
            hash_tag(&k.receipt_history("abc"))
        );
        assert_eq!(
            hash_tag(&k.receipt_current("abc")),
            hash_tag(&k.receipt_seq("abc"))
        );
        let index = hash_tag(&k.receipt_index()).to_owned();
        for key in [
            k.receipt_index_action("accept_all"),
            k.receipt_index_expiry(),
            k.receipt_index_data(),
            k.receipt_index_actions(),
        ] {
            assert_eq!(hash_tag(&key), index, "{key}");
        }
        let form = hash_tag(&k.form_index("contact")).to_owned();
        for key in [
            k.form_entry("contact", "e1"),
            k.form_expiry("contact"),
            k.form_email("contact", "h"),
            k.form_restricted("contact"),
            k.form_data_key("contact", "2026-11-22:ab"),
        ] {
            assert_eq!(hash_tag(&key), form, "{key}");
        }
        let dsr = hash_tag(&k.dsr_index()).to_owned();
        for key in [k.dsr_request("r1"), k.dsr_due()] {
            assert_eq!(hash_tag(&key), dsr, "{key}");
        }
    }

    #[test]
    fn braces_in_ids_cannot_break_the_hash_tag() {
        let k = KeyLayout::new("cg");
        let key = k.receipt_current("a}b{c");
        assert_eq!(hash_tag(&key), "cg:receipt:a%7Db%7Bc");
        assert_ne!(k.receipt_current("a%7D"), k.receipt_current("a}"));
    }
}
