//! Exports operators hand over or open in a spreadsheet: CSV written with the `csv` crate,
//! with every cell that a spreadsheet would take for a formula defused.

use std::borrow::Cow;

/// Why an export could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("CSV: {0}")]
    Csv(#[from] csv::Error),
    #[error("CSV: {0}")]
    Io(#[from] std::io::Error),
    #[error("JSON: {0}")]
    Json(#[from] serde_json::Error),
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
}
