//! How an inline script is read for tracker signatures. Signatures are compared on the
//! script's *folded* text (ASCII whitespace dropped, `"` and `` ` `` read as `'`, ASCII lower
//! case), so `ga( "send"` matches `ga('send'`. A script is a *usage snippet* when it is made
//! only of calls into trackers' APIs; deciding that takes a small statement reader: it knows
//! strings, comments (including `<!--` and CDATA markers), bracket nesting, `try`/`catch`
//! blocks, declarations and call chains — just enough to tell `fbq('track', 'PageView');` from
//! first-party code that happens to call `fbq` inside a click handler. Anything it does not
//! understand makes the script not a usage snippet (it then stays live, as before).

/// Append the folded form of `text` to `out`.
pub(super) fn fold_into(text: &str, out: &mut String) {
    out.reserve(text.len());
    for c in text.chars() {
        match c {
            c if c.is_ascii_whitespace() => {}
            '"' | '`' => out.push('\''),
            c => out.push(c.to_ascii_lowercase()),
        }
    }
}

/// The folded form of `text`.
pub(super) fn fold(text: &str) -> String {
    let mut out = String::new();
    fold_into(text, &mut out);
    out
}

/// One statement of a script, as far as the usage check needs to know.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Stmt<'a> {
    /// A simple statement (no trailing `;`), trimmed.
    Simple(&'a str),
    /// `try { … } catch (e) { … } finally { … }`: the statements of every block.
    Try(Vec<Stmt<'a>>),
}

/// Index just past the string, comment or bracket group starting at `i`, if `src[i..]` starts
/// one; `Err(())` when it never ends (the script is not one the reader understands).
fn skip_token(src: &[u8], i: usize) -> Result<Option<usize>, ()> {
    let at = |k: usize| src.get(k).copied();
    match src[i] {
        q @ (b'\'' | b'"' | b'`') => {
            let mut k = i + 1;
            while let Some(c) = at(k) {
                match c {
                    b'\\' => k += 2,
                    b'\n' if q != b'`' => return Err(()),
                    c if c == q => return Ok(Some(k + 1)),
                    _ => k += 1,
                }
            }
            Err(())
        }
        b'/' if at(i + 1) == Some(b'/') => Ok(Some(line_end(src, i))),
        b'/' if at(i + 1) == Some(b'*') => {
            let rest = &src[i + 2..];
            let end = rest.windows(2).position(|w| w == b"*/").ok_or(())?;
            Ok(Some(i + 2 + end + 2))
        }
        // HTML-like comments of classic scripts: each runs to the end of its line.
        b'<' if src[i..].starts_with(b"<!--") => Ok(Some(line_end(src, i))),
        b'-' if src[i..].starts_with(b"-->") && at_line_start(src, i) => Ok(Some(line_end(src, i))),
        open @ (b'(' | b'[' | b'{') => {
            let close = match open {
                b'(' => b')',
                b'[' => b']',
                _ => b'}',
            };
            let mut k = i + 1;
            while let Some(c) = at(k) {
                if c == close {
                    return Ok(Some(k + 1));
                }
                if matches!(c, b')' | b']' | b'}') {
                    return Err(());
                }
                k = skip_token(src, k)?.unwrap_or(k + 1);
            }
            Err(())
        }
        _ => Ok(None),
    }
}

fn line_end(src: &[u8], i: usize) -> usize {
    src[i..]
        .iter()
        .position(|&c| c == b'\n')
        .map_or(src.len(), |p| i + p)
}

fn at_line_start(src: &[u8], i: usize) -> bool {
    src[..i]
        .iter()
        .rev()
        .take_while(|&&c| c != b'\n')
        .all(u8::is_ascii_whitespace)
}

fn is_comment_start(src: &[u8], i: usize) -> bool {
    let rest = &src[i..];
    rest.starts_with(b"//")
        || rest.starts_with(b"/*")
        || rest.starts_with(b"<!--")
        || (rest.starts_with(b"-->") && at_line_start(src, i))
}

/// The top-level statements of `src`, or `None` if the reader does not understand it.
pub(super) fn statements(src: &str) -> Option<Vec<Stmt<'_>>> {
    let bytes = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let mut start: Option<usize> = None;
    let mut last_significant = 0u8;
    while i < bytes.len() {
        let c = bytes[i];
        if start.is_none() {
            if c.is_ascii_whitespace() || c == b';' {
                i += 1;
                continue;
            }
            if is_comment_start(bytes, i) {
                i = skip_token(bytes, i).ok()?.unwrap_or(i + 1);
                continue;
            }
            if let Some((stmt, end)) = try_statement(src, i)? {
                out.push(stmt);
                i = end;
                continue;
            }
            start = Some(i);
        }
        let begun = start.unwrap_or(i);
        let ends_here = c == b';' || (c == b'\n' && matches!(last_significant, b')' | b']'));
        if ends_here {
            out.push(Stmt::Simple(src[begun..i].trim()));
            start = None;
            last_significant = 0;
            i += 1;
            continue;
        }
        if is_comment_start(bytes, i) {
            // A comment ends nothing by itself; the newline after a line comment may.
            i = skip_token(bytes, i).ok()?.unwrap_or(i + 1);
            continue;
        }
        match skip_token(bytes, i).ok()? {
            Some(end) => {
                last_significant = bytes[end - 1];
                i = end;
            }
            None => {
                if matches!(c, b')' | b']' | b'}') {
                    return None;
                }
                if !c.is_ascii_whitespace() {
                    last_significant = c;
                }
                i += 1;
            }
        }
    }
    if let Some(begun) = start {
        let tail = src[begun..].trim();
        if !tail.is_empty() {
            out.push(Stmt::Simple(tail));
        }
    }
    Some(out)
}

/// `try { … } catch (e) { … } [finally { … }]` at `i`: the statement and the index after it.
/// `Some(None)`: no `try` here; `None`: a `try` the reader does not understand.
#[allow(clippy::option_option)]
fn try_statement(src: &str, i: usize) -> Option<Option<(Stmt<'_>, usize)>> {
    let bytes = src.as_bytes();
    let Some(after) = keyword(bytes, i, "try") else {
        return Some(None);
    };
    let mut blocks = Vec::new();
    let mut k = skip_space(bytes, after);
    k = block_into(src, k, &mut blocks)?;
    let mut k2 = skip_space(bytes, k);
    if let Some(after) = keyword(bytes, k2, "catch") {
        k2 = skip_space(bytes, after);
        if bytes.get(k2) == Some(&b'(') {
            k2 = skip_space(bytes, skip_token(bytes, k2).ok()??);
        }
        k = block_into(src, k2, &mut blocks)?;
        k2 = skip_space(bytes, k);
    }
    if let Some(after) = keyword(bytes, k2, "finally") {
        k = block_into(src, skip_space(bytes, after), &mut blocks)?;
    }
    Some(Some((Stmt::Try(blocks), k)))
}

/// Read the `{ … }` block at `i` into `into`; the index after it.
fn block_into<'a>(src: &'a str, i: usize, into: &mut Vec<Stmt<'a>>) -> Option<usize> {
    let bytes = src.as_bytes();
    if bytes.get(i) != Some(&b'{') {
        return None;
    }
    let end = skip_token(bytes, i).ok()??;
    into.extend(statements(&src[i + 1..end - 1])?);
    Some(end)
}

/// The index after `word` at `i`, when it is there as a whole word.
fn keyword(bytes: &[u8], i: usize, word: &str) -> Option<usize> {
    let end = i + word.len();
    let whole =
        bytes.get(i..end) == Some(word.as_bytes()) && !bytes.get(end).is_some_and(|&c| is_ident(c));
    whole.then_some(end)
}

fn skip_space(bytes: &[u8], mut i: usize) -> usize {
    while bytes.get(i).is_some_and(u8::is_ascii_whitespace) {
        i += 1;
    }
    i
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'$'
}

/// What a simple statement is, for the usage check.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Shape<'a> {
    /// `[var|let|const] [window.]NAME = [window.]NAME || []` (or `{}`, `{cmd: []}`): a
    /// command queue, named by the first name of NAME (`googletag.cmd` → `googletag`).
    QueueInit(&'a str),
    /// `[var|let|const] [window.]NAME = CALL`: NAME holds what the call returned; `root` is
    /// the first name of the call's callee.
    Bind {
        name: &'a str,
        root: &'a str,
        call: &'a str,
    },
    /// `CALLEE(…)[.m(…)…]` with `root` the first name of the callee (`window.` dropped).
    Call {
        root: &'a str,
        call: &'a str,
    },
    Other,
}

/// Classify one simple statement.
pub(super) fn shape(stmt: &str) -> Shape<'_> {
    let stmt = stmt.trim();
    let bytes = stmt.as_bytes();
    let mut i = 0;
    for kw in ["var", "let", "const"] {
        if let Some(after) = keyword(bytes, 0, kw) {
            i = skip_space(bytes, after);
            break;
        }
    }
    let declared = i > 0;
    if let Some((name, after_name)) = dotted_name(stmt, i) {
        let k = skip_space(bytes, after_name);
        let assigns = bytes.get(k) == Some(&b'=') && bytes.get(k + 1) != Some(&b'=');
        if assigns {
            let name = name.strip_prefix("window.").unwrap_or(name);
            let rhs = stmt[k + 1..].trim();
            let folded = fold(rhs);
            let folded = folded.strip_prefix("window.").unwrap_or(&folded);
            let lower = name.to_ascii_lowercase();
            if let Some(rest) = folded.strip_prefix(lower.as_str()) {
                if matches!(rest, "||[]" | "||{}" | "||{cmd:[]}") {
                    return Shape::QueueInit(name.split('.').next().unwrap_or(name));
                }
            }
            if name.contains('.') && !declared {
                return Shape::Other;
            }
            return match call_root(rhs) {
                Some(root) => Shape::Bind {
                    name,
                    root,
                    call: rhs,
                },
                None => Shape::Other,
            };
        }
    }
    if declared {
        return Shape::Other;
    }
    match call_root(stmt) {
        Some(root) => Shape::Call { root, call: stmt },
        None => Shape::Other,
    }
}

/// `a.b.c` starting at `i` (identifiers joined by dots): the name and the index after it.
fn dotted_name(s: &str, i: usize) -> Option<(&str, usize)> {
    let bytes = s.as_bytes();
    let mut k = i;
    loop {
        let begin = k;
        while bytes.get(k).is_some_and(|&c| is_ident(c)) {
            k += 1;
        }
        if k == begin || bytes[begin].is_ascii_digit() {
            return None;
        }
        if bytes.get(k) == Some(&b'.') && bytes.get(k + 1).is_some_and(|&c| is_ident(c)) {
            k += 1;
            continue;
        }
        return Some((&s[i..k], k));
    }
}

/// The root name of `expr` when it is exactly a call chain `a.b(…)[.c(…)…]`.
fn call_root(expr: &str) -> Option<&str> {
    let bytes = expr.as_bytes();
    let (name, mut k) = dotted_name(expr, 0)?;
    let mut calls = 0;
    loop {
        k = skip_space(bytes, k);
        match bytes.get(k) {
            None if calls > 0 => break,
            Some(b'(') => {
                k = skip_token(bytes, k).ok()??;
                calls += 1;
            }
            Some(b'.') if calls > 0 => {
                let (_, after) = dotted_name(expr, skip_space(bytes, k + 1))?;
                k = after;
            }
            _ => return None,
        }
    }
    let name = name.strip_prefix("window.").unwrap_or(name);
    Some(name.split('.').next().unwrap_or(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_ignores_case_spacing_and_quote_kind() {
        assert_eq!(fold("ga( \"send\",\n`x`)"), "ga('send','x')");
        assert_eq!(fold("GTAG ('Event'"), "gtag('event'");
    }

    #[test]
    fn statements_split_on_semicolons_and_lines_ending_a_call() {
        let s = statements("ga('create', 'UA-1', 'auto')\nga('send', 'pageview');;").unwrap();
        assert_eq!(
            s,
            [
                Stmt::Simple("ga('create', 'UA-1', 'auto')"),
                Stmt::Simple("ga('send', 'pageview')")
            ]
        );
        let multi_line = statements("fbq('track',\n  'Lead', {a: \"x;y\"});").unwrap();
        assert_eq!(multi_line.len(), 1);
    }

    #[test]
    fn comments_cdata_and_try_blocks_are_understood() {
        let s = statements(
            "<!--\n//<![CDATA[\n/* c; */ try {\nvar t = _gat._getTracker(\"UA-1\");\nt._trackPageview();\n} catch(err) {}\n//]]>\n-->",
        )
        .unwrap();
        assert_eq!(
            s,
            [Stmt::Try(vec![
                Stmt::Simple("var t = _gat._getTracker(\"UA-1\")"),
                Stmt::Simple("t._trackPageview()")
            ])]
        );
    }

    #[test]
    fn unbalanced_or_unterminated_scripts_are_not_understood() {
        assert_eq!(statements("ga('send'"), None);
        assert_eq!(statements("ga('send', 'x'));"), None);
        assert_eq!(statements("x = 'unterminated\n';"), None);
    }

    #[test]
    fn statement_shapes() {
        assert_eq!(shape("var _gaq = _gaq || []"), Shape::QueueInit("_gaq"));
        assert_eq!(
            shape("window.dataLayer = window.dataLayer || []"),
            Shape::QueueInit("dataLayer")
        );
        assert_eq!(
            shape("googletag.cmd = googletag.cmd || []"),
            Shape::QueueInit("googletag")
        );
        assert_eq!(
            shape("window.googletag = window.googletag || { cmd: [] }"),
            Shape::QueueInit("googletag")
        );
        assert_eq!(
            shape("var pageTracker = _gat._getTracker('UA-1')"),
            Shape::Bind {
                name: "pageTracker",
                root: "_gat",
                call: "_gat._getTracker('UA-1')"
            }
        );
        assert_eq!(
            shape("window.ga('send', 'pageview')"),
            Shape::Call {
                root: "ga",
                call: "window.ga('send', 'pageview')"
            }
        );
        assert_eq!(
            shape("pageTracker._trackPageview()"),
            Shape::Call {
                root: "pageTracker",
                call: "pageTracker._trackPageview()"
            }
        );
        for other in [
            "jQuery(function(){ ga('send') }).on('x')x",
            "x = 1",
            "var y",
            "ga('send') + 1",
            "if (window.ga) ga('send')",
            "menu.toggle",
        ] {
            assert_eq!(shape(other), Shape::Other, "{other}");
        }
    }
}
