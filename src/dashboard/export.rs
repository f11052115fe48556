//! Exports operators hand over or open in a spreadsheet: CSV written with the `csv` crate,
//! with every cell that a spreadsheet would take for a formula defused, and JSON lines.

use std::borrow::Cow;

use crate::consent::{ConsentService, Receipt, ReceiptFilter, RecordError, MAX_RECEIPT_PAGE};

/// Most receipts one export holds; a larger range must be exported in parts.
pub const MAX_EXPORT_RECEIPTS: usize = 200_000;

/// Why an export could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("CSV: {0}")]
    Csv(#[from] csv::Error),
    #[error("CSV: {0}")]
    Io(#[from] std::io::Error),
    #[error("JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error(transparent)]
    Consent(#[from] RecordError),
    /// The range holds more than [`MAX_EXPORT_RECEIPTS`] receipts.
    #[error("{total} receipts in this range; export at most {MAX_EXPORT_RECEIPTS} at a time (choose a shorter range)")]
    TooLarge { total: usize },
}

/// `value` as a spreadsheet will show it as text: a cell starting with `=`, `+`, `-`, `@`, a
/// tab or a carriage return gets a leading `'` (OWASP's advice against CSV injection).
pub fn csv_cell(value: &str) -> Cow<'_, str> {
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(format!("'{value}"))
    } else {
        Cow::Borrowed(value)
    }
}

/// A CSV document: a header row, then rows, every cell through [`csv_cell`].
pub fn csv_document<'a, R, I>(header: &[&str], rows: R) -> Result<Vec<u8>, ExportError>
where
    R: IntoIterator<Item = I>,
    I: IntoIterator<Item = &'a str>,
{
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(header)?;
    for row in rows {
        w.write_record(row.into_iter().map(csv_cell).map(|c| c.into_owned()))?;
    }
    w.into_inner().map_err(|e| ExportError::Io(e.into_error()))
}

/// Every receipt in the range, oldest first. `filter.to_ms` should not lie in the future, so
/// decisions made during the export do not shift its pages.
async fn all_receipts(
    consent: &ConsentService,
    filter: &ReceiptFilter,
) -> Result<Vec<Receipt>, ExportError> {
    let mut out = Vec::new();
    loop {
        let page = consent
            .list_receipts(filter, false, out.len(), MAX_RECEIPT_PAGE)
            .await?;
        if page.total > MAX_EXPORT_RECEIPTS {
            return Err(ExportError::TooLarge { total: page.total });
        }
        let got = page.receipts.len() + page.unreadable;
        out.extend(page.receipts);
        if got == 0 || out.len() >= page.total {
            return Ok(out);
        }
    }
}

/// The receipts of a range as JSON lines (one receipt per line, as stored), and how many.
pub async fn receipts_jsonl(
    consent: &ConsentService,
    filter: &ReceiptFilter,
) -> Result<(Vec<u8>, usize), ExportError> {
    let receipts = all_receipts(consent, filter).await?;
    let mut out = Vec::new();
    for r in &receipts {
        serde_json::to_writer(&mut out, r)?;
        out.push(b'\n');
    }
    Ok((out, receipts.len()))
}

/// Column names of [`receipts_csv`].
pub const RECEIPT_CSV_HEADER: [&str; 10] = [
    "time",
    "consent_id",
    "action",
    "granted",
    "refused",
    "policy_revision",
    "language",
    "texts_sha256",
    "country",
    "gpc",
];

/// The receipts of a range as CSV (categories space-separated), and how many.
pub async fn receipts_csv(
    consent: &ConsentService,
    filter: &ReceiptFilter,
) -> Result<(Vec<u8>, usize), ExportError> {
    let receipts = all_receipts(consent, filter).await?;
    let rows: Vec<[String; 10]> = receipts
        .iter()
        .map(|r| {
            [
                r.time.clone(),
                r.id.clone(),
                r.action.as_str().to_owned(),
                r.granted.join(" "),
                r.refused.join(" "),
                r.policy_revision.to_string(),
                r.language.clone(),
                r.texts_hash.clone(),
                r.country.clone().unwrap_or_default(),
                r.gpc.to_string(),
            ]
        })
        .collect();
    let doc = csv_document(
        &RECEIPT_CSV_HEADER,
        rows.iter().map(|r| r.iter().map(String::as_str)),
    )?;
    Ok((doc, receipts.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_defused_and_quotes_escaped() {
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        for lead in ["+1", "-1", "@SUM(A1)", "\tx", "\rx"] {
            assert!(csv_cell(lead).starts_with('\''), "{lead}");
        }
        assert_eq!(csv_cell("ann"), "ann");
        let doc = csv_document(&["a", "b"], [vec!["=1+1", "say \"hi\", then go"]]).unwrap();
        assert_eq!(
            String::from_utf8(doc).unwrap(),
            "a,b\n'=1+1,\"say \"\"hi\"\", then go\"\n"
        );
    }

    #[tokio::test]
    async fn a_range_of_receipts_exports_as_json_lines_and_csv_oldest_first() {
        use crate::consent::{Action, DecisionRequest, RecordContext};
        let consent = crate::consent::service_with(
            &crate::config::Config::default(),
            crate::store::Store::memory(),
        );
        for action in [Action::AcceptAll, Action::RejectAll] {
            let request = DecisionRequest {
                action,
                granted: Vec::new(),
                language: "en".into(),
                texts_hash: consent.bundle().texts_hash["en"].clone(),
            };
            consent
                .record(request, RecordContext::default())
                .await
                .unwrap();
        }
        let all = ReceiptFilter {
            from_ms: 0,
            to_ms: u64::MAX,
            action: None,
        };
        let (jsonl, n) = receipts_jsonl(&consent, &all).await.unwrap();
        assert_eq!(n, 2);
        let lines: Vec<Receipt> = String::from_utf8(jsonl)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        // Oldest first (both decisions may share a millisecond; then the index decides).
        let ms = |t: &str| {
            let rfc3339 = &time::format_description::well_known::Rfc3339;
            time::OffsetDateTime::parse(t, rfc3339).map(|t| t.unix_timestamp_nanos() / 1_000_000)
        };
        assert!(ms(&lines[0].time).unwrap() <= ms(&lines[1].time).unwrap());
        let mut actions: Vec<&str> = lines.iter().map(|r| r.action.as_str()).collect();
        actions.sort_unstable();
        assert_eq!(actions, ["accept_all", "reject_all"]);
        let (csv, n) = receipts_csv(&consent, &all).await.unwrap();
        assert_eq!(n, 2);
        let text = String::from_utf8(csv).unwrap();
        let rows: Vec<&str> = text.lines().collect();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0], RECEIPT_CSV_HEADER.join(","));
        for expected in [
            ",accept_all,analytics marketing youtube vimeo google_maps,,1,en,",
            ",reject_all,,analytics marketing youtube vimeo google_maps,1,en,",
        ] {
            assert!(rows.iter().any(|r| r.contains(expected)), "{text}");
        }
    }
}
