//! Finding the SQL in a model's answer.

/// The first SQL statement of a model's answer: the first fenced block that
/// holds one (a block tagged `sql` first), else the text from its first
/// `SELECT` or `WITH`; cut at the first `;` outside quotes and comments.
pub(crate) fn extract_sql(text: &str) -> Option<String> {
    let mut blocks: Vec<(String, &str)> = Vec::new();
    let mut parts = text.split("```");
    parts.next();
    while let Some(inner) = parts.next() {
        let (info, body) = match inner.split_once('\n') {
            Some((first, rest)) if !first.trim().contains(' ') => {
                (first.trim().to_lowercase(), rest)
            }
            _ => (String::new(), inner),
        };
        blocks.push((info, body));
        // Skip the prose between this block and the next.
        parts.next();
    }
    let fenced = blocks
        .iter()
        .find(|(info, body)| info.contains("sql") && first_statement(body).is_some())
        .or_else(|| blocks.iter().find(|(_, b)| starts_query(b).is_some()))
        .and_then(|(_, b)| first_statement(b));
    if fenced.is_some() {
        return fenced;
    }
    let at = starts_query(text)?;
    first_statement(&text[at..])
}

/// The byte offset of the first `SELECT` or `WITH` keyword (as a word).
fn starts_query(text: &str) -> Option<usize> {
    let lower = text.to_ascii_lowercase();
    let bytes = lower.as_bytes();
    let is_word = |i: usize| {
        bytes
            .get(i)
            .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
    };
    ["select", "with"]
        .iter()
        .filter_map(|kw| {
            lower
                .match_indices(kw)
                .map(|(i, _)| i)
                .find(|&i| (i == 0 || !is_word(i - 1)) && !is_word(i + kw.len()))
        })
        .min()
}

/// The text up to the first `;` that is not inside a quote or a comment,
/// trimmed; `None` when that is empty.
fn first_statement(sql: &str) -> Option<String> {
    let b = sql.as_bytes();
    let mut i = 0;
    let mut end = b.len();
    while i < b.len() {
        match b[i] {
            q @ (b'\'' | b'"' | b'`') => {
                i += 1;
                while i < b.len() && b[i] != q {
                    i += 1;
                }
            }
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                    i += 1;
                }
                i += 1;
            }
            b';' => {
                end = i;
                break;
            }
            _ => {}
        }
        i += 1;
    }
    let s = sql.get(..end)?.trim();
    (!s.is_empty()).then(|| s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fenced_bare_and_first_statement() {
        assert_eq!(
            extract_sql("Here:\n```sql\nSELECT a FROM t;\nDROP TABLE t;\n```\nDone.").as_deref(),
            Some("SELECT a FROM t")
        );
        assert_eq!(
            extract_sql("```\nSELECT 1 AS x\n```").as_deref(),
            Some("SELECT 1 AS x")
        );
        assert_eq!(
            extract_sql("The query is SELECT 'a;b' AS x; and more").as_deref(),
            Some("SELECT 'a;b' AS x")
        );
        assert_eq!(
            extract_sql("with c AS (SELECT 1 AS x) SELECT x FROM c").as_deref(),
            Some("with c AS (SELECT 1 AS x) SELECT x FROM c")
        );
        // A word containing "select" is not the keyword.
        assert_eq!(extract_sql("I cannot preselect anything."), None);
        assert_eq!(extract_sql("No SQL here."), None);
        assert_eq!(extract_sql("```sql\n;\n```"), None);
    }
}
