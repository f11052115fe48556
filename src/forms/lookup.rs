//! Finding a person's entries without keeping who they are in the clear: each entry is indexed
//! by keyed hashes (HMAC-SHA256 under a key derived from the secret, 128 bits) of its e-mail
//! addresses, names and phone numbers, normalised so that an exact match does not depend on
//! how it was typed — e-mail lower-cased and trimmed; a name case- and whitespace-folded; a
//! phone number its digits only, with a leading `+` kept. A search hashes what the operator
//! typed the same way; the store compares hashes only.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::config::{FieldType, FormConfig};
use crate::keys::Key;

type HmacSha256 = Hmac<Sha256>;

/// What an operator looks a person up by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PersonQuery<'a> {
    Email(&'a str),
    Name(&'a str),
    Phone(&'a str),
}

impl PersonQuery<'_> {
    /// `email`, `name` or `phone` (the audit log's and the page's word for it).
    pub fn kind(&self) -> &'static str {
        match self {
            PersonQuery::Email(_) => "email",
            PersonQuery::Name(_) => "name",
            PersonQuery::Phone(_) => "phone",
        }
    }

    /// The keyed hash the index holds for this value; `None` when nothing is left of it after
    /// normalising (an empty name, a phone number without digits).
    pub fn hash(&self, key: &Key) -> Option<String> {
        match *self {
            PersonQuery::Email(e) => Some(email_hash(key, e)).filter(|_| !e.trim().is_empty()),
            PersonQuery::Name(n) => fold_name(n).map(|n| keyed(key, &["name", &n])),
            PersonQuery::Phone(p) => phone_digits(p).map(|p| keyed(key, &["phone", &p])),
        }
    }
}

fn keyed(key: &Key, parts: &[&str]) -> String {
    let mut mac = <HmacSha256 as Mac>::new_from_slice(&key.0).expect("HMAC takes any key length");
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            // A separator no normalised value contains, so ("a", "bc") ≠ ("ab", "c").
            mac.update(&[0]);
        }
        mac.update(part.as_bytes());
    }
    let digest = mac.finalize().into_bytes();
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// Keyed hash of an e-mail address for the erasure index: the store can find a person's
/// entries without holding the address in the clear. Case and surrounding space are ignored.
pub fn email_hash(key: &Key, email: &str) -> String {
    keyed(key, &[&email.trim().to_lowercase()])
}

/// A name lower-cased with every run of whitespace made one space; `None` when empty.
pub fn fold_name(name: &str) -> Option<String> {
    let folded = name
        .split_whitespace()
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(" ");
    (!folded.is_empty()).then_some(folded)
}

/// A phone number as its digits, `+` in front when it was written in front; `None` without
/// digits.
pub fn phone_digits(phone: &str) -> Option<String> {
    let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
    if digits.is_empty() {
        return None;
    }
    Some(if phone.trim_start().starts_with('+') {
        format!("+{digits}")
    } else {
        digits
    })
}

/// What an entry is indexed by: the hash of its first e-mail address (the store's e-mail
/// hash, as before names and phone numbers were indexed) and the hashes of every other e-mail,
/// text (name) and phone field. `values` are the stored (name, value) pairs.
pub fn entry_hashes(
    key: &Key,
    form: &FormConfig,
    values: &[(String, String)],
) -> (Option<String>, Vec<String>) {
    let mut email = None;
    let mut others: Vec<String> = Vec::new();
    for field in &form.fields {
        let Some((_, value)) = values
            .iter()
            .find(|(n, v)| *n == field.name && !v.is_empty())
        else {
            continue;
        };
        let query = match field.kind {
            FieldType::Email => PersonQuery::Email(value),
            // Text fields hold names, subjects, places: all are indexed as names, which only
            // ever match a name typed in full.
            FieldType::Text => PersonQuery::Name(value),
            FieldType::Phone => PersonQuery::Phone(value),
            FieldType::Date | FieldType::DateOfBirth | FieldType::Textarea => continue,
        };
        let Some(hash) = query.hash(key) else {
            continue;
        };
        if matches!(query, PersonQuery::Email(_)) && email.is_none() {
            email = Some(hash);
        } else if email.as_ref() != Some(&hash) && !others.contains(&hash) {
            others.push(hash);
        }
    }
    (email, others)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::derive;

    #[test]
    fn email_hash_ignores_case_and_space() {
        let k = derive(b"s", "e");
        assert_eq!(
            email_hash(&k, " Jan@Example.NL "),
            email_hash(&k, "jan@example.nl")
        );
        assert_ne!(
            email_hash(&k, "jan@example.nl"),
            email_hash(&k, "piet@example.nl")
        );
    }

    #[test]
    fn names_and_phone_numbers_match_however_they_were_typed() {
        let k = derive(b"s", "e");
        let name = |n| PersonQuery::Name(n).hash(&k);
        assert_eq!(name("  Anouk   VISSER "), name("anouk visser"));
        assert_ne!(name("Anouk Visser"), name("Anouk Vissers"));
        assert_eq!(name(" \t "), None);
        let phone = |p| PersonQuery::Phone(p).hash(&k);
        assert_eq!(phone("+31 (0)20-123 4567"), phone("+310201234567"));
        assert_eq!(phone("020 123 4567"), phone("0201234567"));
        assert_ne!(phone("+31201234567"), phone("31201234567"));
        assert_eq!(phone("none"), None);
        // The same text as a name, a phone number and an e-mail address: three hashes.
        let all = [
            PersonQuery::Email("123456").hash(&k),
            name("123456"),
            phone("123456"),
        ];
        assert_ne!(all[0], all[1]);
        assert_ne!(all[1], all[2]);
        assert_ne!(all[0], all[2]);
    }
}
