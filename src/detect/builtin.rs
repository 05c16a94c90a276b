//! The built-in detectors: patterns, the checks that confirm them, and the
//! context words that let a weak spelling (a bare 9-digit SSN, an
//! unseparated phone number) count.
//!
//! All built-in patterns are compiled into one multi-pattern regex, searched
//! once over the whole text (none of them crosses a line break). Patterns
//! are listed in priority order: at one starting position the first pattern
//! that matches is taken, and when its check rejects the match, the other
//! patterns are tried anchored at the same position before the search moves
//! on by one character. A check may narrow a match (an IBAN ends after its
//! country's length, a card number drops a trailing group that is not part
//! of it) and says whether it is *strong* (a hit) or *weak* (a hit only with
//! one of the detector's context words nearby).

use std::collections::BTreeMap;
use std::ops::Range;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use regex_automata::meta::Regex;
use regex_automata::{Anchored, Input, MatchKind as RegexMatchKind, PatternSet};

use super::validate;
use crate::error::Error;
use crate::rules::CONTEXT;

/// What a check says about a pattern match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Not this kind of value.
    Reject,
    /// This kind of value, over this range (it may be narrower than the
    /// match).
    Strong(Range<usize>),
    /// This kind of value only when one of the detector's context words is
    /// nearby: a shape that order numbers and the like share.
    Weak(Range<usize>),
}

/// A confirmation of a pattern match: the whole text and the match's range.
pub(crate) type Check = fn(&str, Range<usize>) -> Verdict;

/// A built-in pattern: detector name, regex, check, specificity.
pub(crate) struct Builtin {
    pub(crate) name: &'static str,
    pub(crate) regex: &'static str,
    pub(crate) check: Check,
    /// Used to break ties between overlapping hits of the same length with
    /// rule-file patterns and known values.
    pub(crate) specificity: u8,
}

/// The built-in patterns, in priority order. Several share a detector name.
/// (`email` is found apart, from each `@`: see [`EMAIL_DOMAIN`].)
/// Digit groups may be separated by a space, a no-break space, `.`, `-`,
/// or a Unicode dash or minus (word processors turn `-` into `–`).
pub(crate) const BUILTINS: &[Builtin] = &[
    Builtin {
        // DE89 3704 0044 0532 0130 00, de89370400440532013000,
        // GB82 WEST 1234 5698 7654 32, DE 89 3704 00440532 013000.
        // The country codes are those of the IBAN registry (validate.rs).
        name: "iban",
        regex: r"(?i)(?-u:\b)(?:ad|ae|al|at|az|ba|be|bg|bh|bi|br|by|ch|cr|cy|cz|de|dj|dk|do|ee|eg|es|fi|fk|fo|fr|gb|ge|gi|gl|gr|gt|hn|hr|hu|ie|il|iq|is|it|jo|kw|kz|lb|lc|li|lt|lu|lv|ly|mc|md|me|mk|mn|mr|mt|mu|ni|nl|no|om|pk|pl|ps|pt|qa|ro|rs|ru|sa|sc|sd|se|si|sk|sm|so|st|sv|tl|tn|tr|ua|va|vg|xk|ye)(?:[ \x{A0}-]{0,2}[0-9]){2}(?:[ \x{A0}-]{0,2}[a-z0-9]){10}(?:[ \x{A0}-]{0,2}[a-z0-9])*",
        check: validate::iban,
        specificity: 5,
    },
    Builtin {
        // 2001:db8::1, ::1, 2001:db8::, ::ffff:192.0.2.1, fe80::1%eth0,
        // full eight groups, upper case; the brackets and port of
        // [2001:db8::1]:8443 stay outside.
        name: "ipv6",
        regex: r"(?i)(?:(?-u:\b)[0-9a-f]{1,4}(?::[0-9a-f]{1,4}){7}|(?-u:\b)(?:[0-9a-f]{1,4}:){6}[0-9]{1,3}(?:\.[0-9]{1,3}){3}|(?:(?-u:\b)[0-9a-f]{1,4}(?::[0-9a-f]{1,4}){0,6})?::(?:[0-9a-f]{1,4}(?::[0-9a-f]{1,4}){0,6}(?:(?:\.[0-9]{1,3}){3})?)?)(?:%[0-9a-z._~-]{1,32})?",
        check: validate::ipv6,
        specificity: 2,
    },
    Builtin {
        // 13 to 19 digits, in one run or in groups separated by one kind of
        // space, dash or dot; Luhn and the networks' prefixes and lengths
        // (networks issue numbers starting 2 to 6, 8 and 979).
        name: "credit_card",
        regex: r"(?-u:\b)(?:[2-68][0-9]{2}|979)(?:[ ./\x{A0}\x{202F}\x{2010}-\x{2015}\x{2212}-]{0,2}[0-9]){10,16}(?-u:\b)",
        check: validate::card,
        specificity: 4,
    },
    Builtin {
        // 789-28-1752, 789 28 1752, 789.28.1752, 789 - 28 - 1752;
        // 789281752 and 789 281 752 with context.
        name: "ssn",
        regex: r"(?-u:\b)[0-9]{3}(?:(?: ?[\x{2010}-\x{2015}\x{2212}-] ?|[ .\x{A0}\x{202F}])[0-9]{2}(?: ?[\x{2010}-\x{2015}\x{2212}-] ?|[ .\x{A0}\x{202F}])[0-9]{4}|[0-9]{6}|(?: ?[\x{2010}-\x{2015}\x{2212}-] ?|[ .\x{A0}\x{202F}])[0-9]{3}(?: ?[\x{2010}-\x{2015}\x{2212}-] ?|[ .\x{A0}\x{202F}])[0-9]{3})(?-u:\b)",
        check: validate::ssn,
        specificity: 4,
    },
    Builtin {
        // North American: (415) 732-0134, 415-732-0134, 415.732.0134,
        // 415 732 0134, +1 415 732 0134, 1-415-732-0134, +14157320134,
        // with an extension (ext. 12, x12); 4157320134 with context.
        name: "phone",
        regex: r"(?:(?:\+1[ .\x{A0}\x{202F}\x{2010}-\x{2015}\x{2212}-]?|(?-u:\b)(?:00)?1[ .\x{A0}\x{202F}\x{2010}-\x{2015}\x{2212}-]?)?\([0-9]{3}\)[ .\x{A0}\x{202F}\x{2010}-\x{2015}\x{2212}-]?|(?:\+1[ .\x{A0}\x{202F}\x{2010}-\x{2015}\x{2212}-]?|(?-u:\b)(?:(?:00)?1[ .\x{A0}\x{202F}\x{2010}-\x{2015}\x{2212}-]?)?)[0-9]{3}[ ./\x{A0}\x{202F}\x{2010}-\x{2015}\x{2212}-]?)[0-9]{3}[ .\x{A0}\x{202F}\x{2010}-\x{2015}\x{2212}-]?[0-9]{4}(?: ?(?i:ext\.?|extension|x) ?[0-9]{1,6})?(?-u:\b)",
        check: validate::phone_nanp,
        specificity: 1,
    },
    Builtin {
        // International: +44 20 7946 0958, +44 (0)20 7946 0958,
        // 0044 20 7946 0958, +33 6 12 34 56 78, +442079460958.
        name: "phone",
        regex: r"(?:\+|(?-u:\b)00 ?)[1-9][0-9]{0,3}(?:[ .\x{A0}\x{202F}\x{2010}-\x{2015}\x{2212}-]?\(0\))?(?:[ ./\x{A0}\x{202F}\x{2010}-\x{2015}\x{2212}-]?\(?[0-9]{1,6}\)?){1,6}(?: ?(?i:ext\.?|extension|x) ?[0-9]{1,6})?(?-u:\b)",
        check: validate::phone_intl,
        specificity: 1,
    },
    Builtin {
        // National, with the trunk 0: 020 7946 0958, (020) 7946 0958,
        // 07911 123456, 030/1234567, 01 42 68 53 00; 02079460958 with
        // context.
        name: "phone",
        regex: r"(?:\(0[1-9][0-9]{0,3}\)|(?-u:\b)0[1-9][0-9]{0,3})(?:[ ./\x{A0}\x{202F}\x{2010}-\x{2015}\x{2212}-]?[0-9]{6,9}|(?: [0-9]{2,4}){2,4}|(?:\x{A0}[0-9]{2,4}){2,4}|(?:\.[0-9]{2,4}){2,4}|(?:/[0-9]{2,4}){2,4}|(?:[\x{2010}-\x{2015}\x{2212}-][0-9]{2,4}){2,4})(?-u:\b)",
        check: validate::phone_trunk,
        specificity: 1,
    },
    Builtin {
        // 192.0.2.1 and 192.0.2.1:8080 (the port stays outside); not in a
        // longer dotted run (10.0.19045.3803, 1.2.3.4-build) or after a
        // version word (v1.2.3.4, version 4.2.1.7).
        name: "ipv4",
        regex: r"(?-u:\b)[0-9]{1,3}(?:(?:\.|\[\.\]|\(\.\))[0-9]{1,3}){3}(?-u:\b)",
        check: validate::ipv4,
        specificity: 2,
    },
];

/// An email's domain, searched anchored right after an `@` (IDN and
/// punycode domains too). The local part before the `@` is read backwards
/// by [`local_part_start`]. Finding emails from their `@` keeps the large
/// Unicode classes out of the other patterns' automaton.
pub(crate) const EMAIL_DOMAIN: &str = r"(?:[\p{L}\p{M}\p{N}](?:[\p{L}\p{M}\p{N}-]*[\p{L}\p{M}\p{N}])?\.)+(?:\p{L}[\p{L}\p{M}]+|(?i:xn--[a-z0-9-]+))";

/// Emails written so that machines miss them: `jane [at] example [dot] com`,
/// `jane(at)example.com`, `jane @ example.com`.
const EMAIL_OBFUSCATED: &str = r"(?i)[\p{L}\p{N}][\p{L}\p{N}._%+-]*(?:\s*(?:\[at\]|\(at\)|\{at\}|<at>)\s*|\s+@\s+)[\p{L}\p{N}][\p{L}\p{N}-]*(?:(?:\s*(?:\[dot\]|\(dot\)|\{dot\}|<dot>)\s*|\s+dot\s+|\.)[\p{L}\p{N}][\p{L}\p{N}-]*)+";

/// What every obfuscated email holds (one of its `at` forms, or an `@`
/// after white space), and every spelled one (`dot`): where the text holds
/// none, the pattern cannot match and is not searched for. A cheap search
/// for a literal saves a search for a pattern that may start at any letter.
const EMAIL_OBFUSCATED_NEEDS: &str = r"(?i)\[at\]|\(at\)|\{at\}|<at>|\s@";
const EMAIL_SPELLED_NEEDS: &str = r"(?i)dot";

/// `jane at example dot com`: the words `at` and `dot`, and a common
/// top-level domain, so that `looked at the dot matrix` is not one.
const EMAIL_SPELLED: &str = r"(?i)(?-u:\b)[a-z0-9][a-z0-9._%+-]*\s+at\s+[a-z0-9][a-z0-9-]*(?:\s+dot\s+[a-z0-9][a-z0-9-]*)*\s+dot\s+(?:com|org|net|edu|gov|io|co|uk|us|de|fr|es|it|nl|ca|au|info|biz|me)(?-u:\b)";

/// The longest local part read back from an `@`, in characters.
const LOCAL_PART_MAX: usize = 128;

/// Where the local part of an email whose `@` is at byte `at` starts:
/// a quoted local part (`"john doe"@…`, at most 64 bytes, one line), or
/// letters, digits, marks and `._%+'!#$&*^~-`, not starting with `.` or
/// `'`.
pub(crate) fn local_part_start(text: &str, at: usize) -> Option<usize> {
    let before = text.get(..at)?;
    if let Some(inner) = before.strip_suffix('"') {
        let lo = inner.len().saturating_sub(64);
        let open = inner
            .char_indices()
            .rev()
            .take_while(|(i, _)| *i >= lo)
            .take_while(|(_, c)| *c != '\n' && *c != '\r')
            .find(|(_, c)| *c == '"')
            .map(|(i, _)| i)?;
        return (open + 1 < inner.len()).then_some(open);
    }
    let atom = |c: char| {
        c.is_alphanumeric()
            || "._%+'!#$&*^~-".contains(c)
            || matches!(c, '\u{300}'..='\u{36f}' | '\u{1ab0}'..='\u{1aff}' | '\u{1dc0}'..='\u{1dff}' | '\u{20d0}'..='\u{20ff}' | '\u{fe20}'..='\u{fe2f}')
    };
    let mut start = at;
    for (i, c) in before.char_indices().rev().take(LOCAL_PART_MAX) {
        if !atom(c) {
            break;
        }
        start = i;
    }
    let trimmed = before[start..].trim_start_matches(['.', '\'']);
    let start = at - trimmed.len();
    (start < at).then_some(start)
}

/// How far before a weak match its context words are looked for, in bytes.
pub(crate) const CONTEXT_BEFORE: usize = 48;
/// How far after a weak match its context words are looked for, in bytes.
pub(crate) const CONTEXT_AFTER: usize = 24;

/// The built-in detectors a policy enables, compiled.
pub(crate) struct Builtins {
    /// When `email` is enabled: the domain after an `@`, the obfuscated
    /// and spelled forms, and the literals without which the last two cannot match.
    email: Option<[Regex; 5]>,
    regex: Regex,
    /// The same patterns with `MatchKind::All`: which of them match at a
    /// position, so that a rejected match is retried only with those.
    all: Regex,
    /// Per pattern id of `regex`: its built-in.
    entries: Vec<&'static Builtin>,
    /// Per pattern id: the context words of its detector, if it has any.
    context: Vec<Option<usize>>,
    automata: Vec<Option<AhoCorasick>>,
}

impl std::fmt::Debug for Builtins {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Builtins")
            .field("patterns", &self.entries.len())
            .finish_non_exhaustive()
    }
}

impl Builtins {
    /// Compiles the enabled built-ins, with a rule file's context words
    /// replacing the built-in lists. `None` when no built-in is enabled.
    pub(crate) fn new(
        enabled: &[String],
        context: &BTreeMap<String, Vec<String>>,
    ) -> Result<Option<Builtins>, Error> {
        let entries: Vec<&'static Builtin> = BUILTINS
            .iter()
            .filter(|b| enabled.iter().any(|n| n == b.name))
            .collect();
        let email_on = enabled.iter().any(|n| n == "email");
        if entries.is_empty() && !email_on {
            return Ok(None);
        }
        let email = if email_on {
            let re = |p: &str| {
                Regex::new(p).map_err(|e| {
                    Error::rules(None, format!("the email detector does not compile: {e}"))
                })
            };
            Some([
                re(EMAIL_DOMAIN)?,
                re(EMAIL_OBFUSCATED)?,
                re(EMAIL_SPELLED)?,
                re(EMAIL_OBFUSCATED_NEEDS)?,
                re(EMAIL_SPELLED_NEEDS)?,
            ])
        } else {
            None
        };
        let sources: Vec<&str> = entries.iter().map(|b| b.regex).collect();
        let build = |kind: RegexMatchKind| {
            Regex::builder()
                .configure(
                    Regex::config()
                        .match_kind(kind)
                        .nfa_size_limit(Some(1 << 24))
                        .hybrid_cache_capacity(4 << 20),
                )
                .build_many(&sources)
                .map_err(|e| {
                    Error::rules(None, format!("the built-in detectors do not compile: {e}"))
                })
        };
        let regex = build(RegexMatchKind::LeftmostFirst)?;
        let all = build(RegexMatchKind::All)?;
        let mut automata = Vec::new();
        let mut names: Vec<&str> = Vec::new();
        for (name, words) in CONTEXT {
            let words: Vec<String> = match context.get(*name) {
                Some(w) => w.clone(),
                None => words.iter().map(|w| w.to_string()).collect(),
            };
            names.push(*name);
            automata.push(if words.is_empty() {
                None
            } else {
                Some(
                    AhoCorasickBuilder::new()
                        .ascii_case_insensitive(true)
                        .match_kind(MatchKind::Standard)
                        .build(&words)
                        .map_err(|e| {
                            Error::rules(None, format!("the context words do not compile: {e}"))
                        })?,
                )
            });
        }
        let context = entries
            .iter()
            .map(|b| names.iter().position(|n| *n == b.name))
            .collect();
        Ok(Some(Builtins {
            email,
            regex,
            all,
            entries,
            context,
            automata,
        }))
    }

    /// Calls `hit` with each confirmed hit's range, specificity and
    /// detector name, in order, without overlaps among them.
    pub(crate) fn find(&self, text: &str, mut hit: impl FnMut(Range<usize>, u8, &'static str)) {
        let emails = match &self.email {
            Some(res) => find_emails(res, text),
            None => Vec::new(),
        };
        let mut emails_left = emails.iter().peekable();
        let mut at = 0;
        if self.entries.is_empty() {
            at = text.len();
        }
        while at < text.len() {
            let Some(m) = self.regex.search(&Input::new(text).range(at..)) else {
                break;
            };
            let first = m.pattern().as_usize();
            let mut found = self.confirm(text, first, m.range());
            if found.is_none() {
                // Another pattern may match where this one was rejected:
                // ask which do, then try those.
                let mut which = PatternSet::new(self.entries.len());
                self.all.which_overlapping_matches(
                    &Input::new(text).range(m.start()..).anchored(Anchored::Yes),
                    &mut which,
                );
                for id in which.iter() {
                    let pid = id.as_usize();
                    if pid == first {
                        continue;
                    }
                    let input = Input::new(text)
                        .range(m.start()..)
                        .anchored(Anchored::Pattern(id));
                    if let Some(m2) = self.regex.search(&input) {
                        found = self.confirm(text, pid, m2.range());
                        if found.is_some() {
                            break;
                        }
                    }
                }
            }
            match found {
                Some((r, b)) => {
                    at = r.end.max(m.start() + 1);
                    // Emails come first: a pattern's hit inside one (digits
                    // of `4157320134@vtext.com`) is dropped.
                    let mut inside = false;
                    while let Some(e) = emails_left.peek() {
                        if e.end <= r.start {
                            hit((*e).clone(), EMAIL_SPECIFICITY, "email");
                            emails_left.next();
                        } else {
                            inside = e.start < r.end;
                            break;
                        }
                    }
                    if !inside {
                        hit(r, b.specificity, b.name);
                    }
                }
                None => {
                    at = m.start() + text[m.start()..].chars().next().map_or(1, char::len_utf8);
                }
            }
        }
        for e in emails_left {
            hit(e.clone(), EMAIL_SPECIFICITY, "email");
        }
    }

    /// Runs pattern `pid`'s check on a match: the hit's range and built-in,
    /// if confirmed.
    fn confirm(
        &self,
        text: &str,
        pid: usize,
        r: Range<usize>,
    ) -> Option<(Range<usize>, &'static Builtin)> {
        let b = self.entries.get(pid)?;
        match (b.check)(text, r) {
            Verdict::Reject => None,
            Verdict::Strong(r) => Some((r, b)),
            Verdict::Weak(r) => {
                let words = self.context.get(pid).copied().flatten()?;
                let ac = self.automata.get(words)?.as_ref()?;
                has_context(ac, text, &r).then_some((r, b))
            }
        }
    }
}

const EMAIL_SPECIFICITY: u8 = 3;

/// The emails of a text, in order, from each `@`: the local part read
/// backwards, the domain matched forwards.
fn find_emails(
    [domain, obfuscated, spelled, obfuscated_needs, spelled_needs]: &[Regex; 5],
    text: &str,
) -> Vec<Range<usize>> {
    let mut out: Vec<Range<usize>> = Vec::new();
    for (at, _) in text.match_indices('@') {
        if out.last().is_some_and(|l| at < l.end) {
            continue;
        }
        let Some(d) = domain.search(&Input::new(text).range(at + 1..).anchored(Anchored::Yes))
        else {
            continue;
        };
        let Some(start) = local_part_start(text, at) else {
            continue;
        };
        if out.last().is_some_and(|l| start < l.end) {
            continue;
        }
        if let Verdict::Strong(r) = validate::email(text, start..d.end()) {
            out.push(r);
        }
    }
    // The obfuscated and spelled forms, where they overlap nothing found.
    let mut more: Vec<Range<usize>> = Vec::new();
    for (re, needs) in [(obfuscated, obfuscated_needs), (spelled, spelled_needs)] {
        if !needs.is_match(text) {
            continue;
        }
        for m in re.find_iter(text) {
            let r = m.range();
            let last = text[r.clone()]
                .rsplit(|c: char| !c.is_alphanumeric() && c != '-')
                .next()
                .unwrap_or("");
            let tld = last.chars().count() >= 2 && last.chars().all(char::is_alphabetic);
            if tld
                && !out
                    .iter()
                    .chain(&more)
                    .any(|o| o.start < r.end && r.start < o.end)
            {
                more.push(r);
            }
        }
    }
    if !more.is_empty() {
        out.extend(more);
        out.sort_by_key(|r| r.start);
    }
    out
}

/// Whether a context word stands, as a whole word, within reach of `r`.
fn has_context(ac: &AhoCorasick, text: &str, r: &Range<usize>) -> bool {
    let mut from = r.start.saturating_sub(CONTEXT_BEFORE);
    while !text.is_char_boundary(from) {
        from -= 1;
    }
    let mut to = (r.end + CONTEXT_AFTER).min(text.len());
    while !text.is_char_boundary(to) {
        to += 1;
    }
    let whole = |s: usize, e: usize| {
        let before = text[..s].chars().next_back();
        let after = text[e..].chars().next();
        let word = |c: Option<char>| c.is_some_and(char::is_alphanumeric);
        let first = text[s..].chars().next();
        let last = text[..e].chars().next_back();
        // A word that starts (ends) with a letter may not continue one.
        (!word(first) || !word(before)) && (!word(last) || !word(after))
    };
    for (lo, hi, before) in [(from, r.start, true), (r.end, to, false)] {
        let Some(window) = text.get(lo..hi) else {
            continue;
        };
        for m in ac.find_overlapping_iter(window) {
            let (s, e) = (lo + m.start(), lo + m.end());
            let gap = if before {
                text.get(e..r.start)
            } else {
                // With the word, whose capital may start a sentence.
                text.get(r.end..e)
            };
            if whole(s, e) && gap.is_some_and(speaks_of_it) {
                return true;
            }
        }
    }
    false
}

/// Whether a context word still speaks of the number across `gap`, the
/// text between them: no other number (the word is about that one), no
/// line break, no sentence end (`. Account 2159966416`).
fn speaks_of_it(gap: &str) -> bool {
    let mut prev_end = false;
    for c in gap.chars() {
        if c.is_ascii_digit() || c == '\n' || (prev_end && c.is_uppercase()) {
            return false;
        }
        prev_end = match c {
            '.' | '!' | '?' | ';' => true,
            c if c.is_whitespace() => prev_end,
            _ => false,
        };
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `rules/detectors.toml` shows the built-in context words: the same
    /// lists, so that copying it changes nothing.
    #[test]
    fn detectors_toml_shows_the_builtin_context_words() {
        let p = crate::Policy::from_toml_str(include_str!("../../rules/detectors.toml")).unwrap();
        for (name, words) in CONTEXT {
            assert_eq!(p.detectors().context[*name], words.to_vec(), "{name}");
        }
        assert_eq!(p.detectors().context.len(), CONTEXT.len());
    }

    /// The IBAN pattern names exactly the countries whose length the check
    /// knows.
    #[test]
    fn iban_pattern_lists_the_registry() {
        let b = BUILTINS.iter().find(|b| b.name == "iban").unwrap();
        let inner = b
            .regex
            .split("(?:")
            .nth(1)
            .unwrap()
            .split(')')
            .next()
            .unwrap();
        let mut in_regex: Vec<String> = inner.split('|').map(str::to_uppercase).collect();
        let mut known = validate::iban_countries();
        in_regex.sort();
        known.sort();
        assert_eq!(in_regex, known);
    }

    /// The literals that gate the obfuscated and spelled email searches
    /// occur in every match of those patterns: skipping a text without
    /// them loses no email. Checked on the labelled corpus and on spellings
    /// that stretch the patterns (upper case, Unicode spaces, line breaks).
    #[test]
    fn email_gates_hold_in_every_match() {
        let re = |p: &str| Regex::new(p).unwrap();
        let forms = [
            (re(EMAIL_OBFUSCATED), re(EMAIL_OBFUSCATED_NEEDS)),
            (re(EMAIL_SPELLED), re(EMAIL_SPELLED_NEEDS)),
        ];
        let mut texts: Vec<String> = include_str!("../../tests/data/detect/corpus.jsonl")
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                v["text"].as_str().unwrap().to_string()
            })
            .collect();
        texts.extend(
            [
                "jane [AT] example [DOT] com",
                "jane {at} example <dot> com",
                "jane\u{a0}@\u{2003}example.com",
                "jane\n@\nexample.com",
                "Jane At Example Dot Com",
                "jane.doe\nat\nexample\ndot\nco",
                "jane <At> example.org",
            ]
            .map(String::from),
        );
        let mut matched = 0;
        for t in &texts {
            for (pattern, needs) in &forms {
                for m in pattern.find_iter(t.as_str()) {
                    matched += 1;
                    assert!(needs.is_match(&t[m.range()]), "{:?}", &t[m.range()]);
                }
            }
        }
        assert!(matched >= 7, "{matched}");
    }

    #[test]
    fn context_words_are_whole_words_nearby() {
        let ac = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .build(["ph", "cell"])
            .unwrap();
        let at = |t: &str, n: &str| {
            let s = t.find(n).unwrap();
            has_context(&ac, t, &(s..s + n.len()))
        };
        assert!(at("Ph: 4157320134", "4157320134"));
        assert!(at("4157320134 (CELL)", "4157320134"));
        assert!(!at("graph 4157320134", "4157320134"));
        assert!(!at("excellent 4157320134", "4157320134"));
        let far = format!("cell {} 4157320134", "x".repeat(CONTEXT_BEFORE));
        assert!(!at(&far, "4157320134"));
        // The word speaks of another number, or of another sentence.
        assert!(!at("cell 415-732-0134, order 4157320134", "4157320134"));
        assert!(!at("my cell. Order 4157320134", "4157320134"));
        assert!(!at("order 4157320134. Cell is off", "4157320134"));
        assert!(!at("cell\n4157320134", "4157320134"));
        assert!(at("Ph. 4157320134", "4157320134"));
    }
}
