//! Validation: a parsed rule file becomes a [`Policy`], every key checked, every error at its line and column.

use super::action::{
    Action, AggregateFunction, Filter, Generalization, Mask, MaskKind, TokenClass,
};
use super::column::{ColumnPolicy, TablePolicy};
use super::defaults::{Defaults, TokenMode, Unlisted};
use super::detectors::{Detectors, DictionaryDetector, PatternDetector, BUILTIN_DETECTORS};
use super::file::{ColumnFile, DictionaryFile, PatternFile, RuleFile};
use super::policy::Policy;
use crate::error::Error;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::Path;
use toml::Spanned;

/// The largest `max_rows` a rule file may set.
const MAX_ROWS_LIMIT: i64 = 1_000_000;
/// The compiled-size cap on a rule file's regex, so that a rule file cannot
/// make detection blow up.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// 1-based line and column of a byte offset.
pub(super) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

pub(super) struct Validator<'a> {
    pub(super) text: &'a str,
    pub(super) path: Option<&'a Path>,
}

impl Validator<'_> {
    fn err(&self, span: Range<usize>, message: impl Into<String>) -> Error {
        Error::rules_at(self.path, Some(line_col(self.text, span.start)), message)
    }

    /// A column's action that lacks one of its keys.
    fn missing_key(
        &self,
        span: &Range<usize>,
        table: &str,
        name: &str,
        action: &str,
        key: &str,
    ) -> Error {
        self.err(
            span.clone(),
            format!("column `{table}.{name}`: action `{action}` needs key `{key}`"),
        )
    }

    pub(super) fn policy(&self, file: RuleFile) -> Result<Policy, Error> {
        if *file.version.get_ref() != 1 {
            return Err(self.err(
                file.version.span(),
                format!(
                    "`version` is {}, but this sqlveil reads version 1 rule files",
                    file.version.get_ref()
                ),
            ));
        }
        let defaults = self.defaults(file.defaults.unwrap_or_default())?;
        let mut tables = Vec::new();
        for (name, table) in file.tables {
            tables.push(self.table(name, table)?);
        }
        let detectors = self.detectors(file.detectors.unwrap_or_default())?;
        let mut policy = Policy {
            defaults,
            tables,
            detectors,
            roles: BTreeMap::new(),
            path: self.path.map(Path::to_path_buf),
            digest: data_encoding::HEXLOWER
                .encode(ring::digest::digest(&ring::digest::SHA256, self.text.as_bytes()).as_ref()),
        };
        let known = policy.classes();
        for (name, role) in file.roles {
            let mut classes = BTreeSet::new();
            for c in role.reveal {
                let class =
                    TokenClass::new(c.get_ref()).map_err(|m| self.err(c.span(), m.to_string()))?;
                if !known.contains(&class) {
                    return Err(self.err(
                        c.span(),
                        format!(
                            "role `{}` reveals class `{class}`, which no tokenize column or detector produces",
                            name.get_ref()
                        ),
                    ));
                }
                classes.insert(class);
            }
            policy.roles.insert(name.into_inner(), classes);
        }
        Ok(policy)
    }

    fn defaults(&self, d: super::file::DefaultsFile) -> Result<Defaults, Error> {
        let unlisted_columns = match &d.unlisted_columns {
            None => Unlisted::Deny,
            Some(s) => match s.get_ref().as_str() {
                "deny" => Unlisted::Deny,
                "scan" => Unlisted::Scan,
                "allow" => Unlisted::Allow,
                other => {
                    return Err(self.err(
                        s.span(),
                        format!("`unlisted_columns` is `{other}`; expected deny, scan or allow"),
                    ))
                }
            },
        };
        let max_rows = match &d.max_rows {
            None => 200,
            Some(n) => {
                let v = *n.get_ref();
                if !(1..=MAX_ROWS_LIMIT).contains(&v) {
                    return Err(self.err(
                        n.span(),
                        format!("`max_rows` is {v}; it must be between 1 and {MAX_ROWS_LIMIT}"),
                    ));
                }
                v as u64
            }
        };
        let tokens = match &d.tokens {
            None => TokenMode::Hash,
            Some(s) => match s.get_ref().as_str() {
                "hash" => TokenMode::Hash,
                "sealed" => TokenMode::Sealed,
                other => {
                    return Err(self.err(
                        s.span(),
                        format!("`tokens` is `{other}`; expected hash or sealed"),
                    ))
                }
            },
        };
        let token_format = match d.token_format {
            None => "<{class}_{token}>".to_string(),
            Some(s) => {
                check_token_format(s.get_ref()).map_err(|m| self.err(s.span(), m))?;
                s.into_inner()
            }
        };
        Ok(Defaults {
            unlisted_columns,
            max_rows,
            tokens,
            token_format,
        })
    }

    fn table(
        &self,
        name: Spanned<String>,
        t: super::file::TableFile,
    ) -> Result<TablePolicy, Error> {
        if name.get_ref().trim().is_empty() {
            return Err(self.err(name.span(), "a table name is empty"));
        }
        let mut columns = Vec::new();
        for (cname, col) in t.columns {
            if cname.get_ref().is_empty() {
                return Err(self.err(cname.span(), "a column name is empty"));
            }
            columns.push(self.column(name.get_ref(), cname.into_inner(), col)?);
        }
        if let Some(subject) = &t.subject {
            if let Some(c) = columns.iter().find(|c| &c.name == subject.get_ref()) {
                if matches!(c.action, Action::Aggregate { .. }) {
                    return Err(self.err(
                        subject.span(),
                        format!(
                            "the subject column `{}` of table `{}` cannot itself be an aggregate column",
                            c.name,
                            name.get_ref()
                        ),
                    ));
                }
            }
        }
        Ok(TablePolicy {
            name: name.into_inner(),
            description: t.description,
            subject: t.subject.map(Spanned::into_inner),
            columns,
        })
    }

    fn column(
        &self,
        table: &str,
        name: String,
        col: Spanned<ColumnFile>,
    ) -> Result<ColumnPolicy, Error> {
        let span = col.span();
        let c = col.into_inner();
        self.check_keys(table, &name, &c)?;
        let action = self.action(table, &name, &c, &span)?;
        let filter = match &c.filter {
            None => action.default_filter(),
            Some(f) => Filter::from_tag(f.get_ref()).ok_or_else(|| {
                self.err(
                    f.span(),
                    format!(
                        "column `{table}.{name}`: unknown filter `{}` (expected none, equality or any)",
                        f.get_ref()
                    ),
                )
            })?,
        };
        let detect_values = c.detect_values.as_ref().map(|d| *d.get_ref());
        let match_parts = match &c.match_parts {
            Some(m) if *m.get_ref() && detect_values == Some(false) => {
                return Err(self.err(
                    m.span(),
                    format!(
                        "column `{table}.{name}`: `match_parts = true` needs the column's values to be found, but `detect_values` is false"
                    ),
                ))
            }
            Some(m) => *m.get_ref(),
            None => false,
        };
        let class = match (&action, &c.class) {
            (Action::Tokenize { .. }, _) | (_, None) => None,
            (_, Some(k)) => Some(
                TokenClass::new(k.get_ref())
                    .map_err(|m| self.err(k.span(), format!("column `{table}.{name}`: {m}")))?,
            ),
        };
        Ok(ColumnPolicy {
            name,
            action,
            filter,
            description: c.description,
            detect_values,
            match_parts,
            class,
        })
    }

    /// Refuses an unknown action, and a key that belongs to another action
    /// (an error, not silently ignored).
    fn check_keys(&self, table: &str, name: &str, c: &ColumnFile) -> Result<(), Error> {
        let tag = c.action.get_ref().as_str();
        let allowed: &[&str] = match tag {
            "allow" => &["filter"],
            "scan" => &["filter", "class"],
            "deny" => &["detect_values"],
            "tokenize" => &["class", "filter", "detect_values", "match_parts"],
            "mask" => &[
                "mask",
                "filter",
                "detect_values",
                "class",
                "fixed_length",
                "link",
            ],
            "generalize" => &["to", "filter", "class"],
            "aggregate" => &["functions", "min_group_size"],
            _ => return Err(self.unknown_action(table, name, c)),
        };
        let present: [(&str, Option<Range<usize>>); 10] = [
            ("class", c.class.as_ref().map(Spanned::span)),
            ("mask", c.mask.as_ref().map(Spanned::span)),
            ("to", c.to.as_ref().map(Spanned::span)),
            ("filter", c.filter.as_ref().map(Spanned::span)),
            ("functions", c.functions.as_ref().map(Spanned::span)),
            (
                "min_group_size",
                c.min_group_size.as_ref().map(Spanned::span),
            ),
            ("detect_values", c.detect_values.as_ref().map(Spanned::span)),
            ("match_parts", c.match_parts.as_ref().map(Spanned::span)),
            ("fixed_length", c.fixed_length.as_ref().map(Spanned::span)),
            ("link", c.link.as_ref().map(Spanned::span)),
        ];
        for (key, sp) in present {
            if let Some(sp) = sp {
                if !allowed.contains(&key) {
                    return Err(self.err(
                        sp,
                        format!(
                            "column `{table}.{name}`: key `{key}` does not apply to action `{tag}`"
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// A column whose action is none of the seven.
    fn unknown_action(&self, table: &str, name: &str, c: &ColumnFile) -> Error {
        self.err(
            c.action.span(),
            format!(
                "column `{table}.{name}`: unknown action `{}` (expected allow, deny, tokenize, mask, generalize, scan or aggregate)",
                c.action.get_ref()
            ),
        )
    }

    /// A column's action with the keys it needs.
    fn action(
        &self,
        table: &str,
        name: &str,
        c: &ColumnFile,
        span: &Range<usize>,
    ) -> Result<Action, Error> {
        let tag = c.action.get_ref().as_str();
        let required = |key: &str| self.missing_key(span, table, name, tag, key);
        Ok(match tag {
            "allow" => Action::Allow,
            "deny" => Action::Deny,
            "scan" => Action::Scan,
            "tokenize" => {
                let class = c.class.as_ref().ok_or_else(|| required("class"))?;
                Action::Tokenize {
                    class: TokenClass::new(class.get_ref()).map_err(|m| {
                        self.err(class.span(), format!("column `{table}.{name}`: {m}"))
                    })?,
                }
            }
            "mask" => self.mask_action(table, name, c, span)?,
            "generalize" => {
                let to = c.to.as_ref().ok_or_else(|| required("to"))?;
                Action::Generalize(
                    Generalization::parse(to.get_ref()).map_err(|m| {
                        self.err(to.span(), format!("column `{table}.{name}`: {m}"))
                    })?,
                )
            }
            "aggregate" => self.aggregate_action(table, name, c, span)?,
            _ => return Err(self.unknown_action(table, name, c)),
        })
    }

    /// A `mask` column's action: the mask, its fixed length, its hash key.
    fn mask_action(
        &self,
        table: &str,
        name: &str,
        c: &ColumnFile,
        span: &Range<usize>,
    ) -> Result<Action, Error> {
        let required = |key: &str| self.missing_key(span, table, name, "mask", key);
        let mask = c.mask.as_ref().ok_or_else(|| required("mask"))?;
        let kind = MaskKind::from_tag(mask.get_ref()).ok_or_else(|| {
            self.err(
                mask.span(),
                format!(
                    "column `{table}.{name}`: unknown mask `{}` (expected email, last4, first4, full or hash)",
                    mask.get_ref()
                ),
            )
        })?;
        let fixed_length = match &c.fixed_length {
            Some(f) if !matches!(kind, MaskKind::Last4 | MaskKind::First4 | MaskKind::Email) => {
                return Err(self.err(
                    f.span(),
                    format!(
                        "column `{table}.{name}`: `fixed_length` applies to the last4, first4 and email masks (`{}` never shows a length)",
                        kind.as_tag()
                    ),
                ))
            }
            Some(f) => *f.get_ref(),
            None => false,
        };
        let hash_key = match (&c.link, kind) {
            (Some(l), MaskKind::Hash) => {
                let n = l.get_ref();
                let ok = n.len() <= 40
                    && n.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
                    && n.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
                if !ok {
                    return Err(self.err(
                        l.span(),
                        format!(
                            "column `{table}.{name}`: link name `{n}` must be lowercase letters, digits and `_`, starting with a letter, at most 40 characters"
                        ),
                    ));
                }
                Some(format!("link:{n}"))
            }
            (Some(l), _) => {
                return Err(self.err(
                    l.span(),
                    format!("column `{table}.{name}`: `link` applies to the hash mask only"),
                ))
            }
            (None, MaskKind::Hash) => Some(format!("column:{table}.{name}")),
            (None, _) => None,
        };
        Ok(Action::Mask(Mask {
            kind,
            fixed_length,
            hash_key,
        }))
    }

    /// An `aggregate` column's action: its functions and group size.
    fn aggregate_action(
        &self,
        table: &str,
        name: &str,
        c: &ColumnFile,
        span: &Range<usize>,
    ) -> Result<Action, Error> {
        let required = |key: &str| self.missing_key(span, table, name, "aggregate", key);
        let functions = c.functions.as_ref().ok_or_else(|| required("functions"))?;
        if functions.get_ref().is_empty() {
            return Err(self.err(
                functions.span(),
                format!("column `{table}.{name}`: `functions` lists no aggregate function"),
            ));
        }
        let mut fs = Vec::new();
        for f in functions.get_ref() {
            let af = AggregateFunction::from_tag(f.get_ref()).ok_or_else(|| {
                self.err(
                    f.span(),
                    format!(
                        "column `{table}.{name}`: unknown aggregate function `{}` (expected count, sum, avg, min, max, median, stddev or variance)",
                        f.get_ref()
                    ),
                )
            })?;
            if !fs.contains(&af) {
                fs.push(af);
            }
        }
        let k = c
            .min_group_size
            .as_ref()
            .ok_or_else(|| required("min_group_size"))?;
        let min_group_size = u32::try_from(*k.get_ref())
            .ok()
            .filter(|&v| v >= 1)
            .ok_or_else(|| {
                self.err(
                    k.span(),
                    format!(
                        "column `{table}.{name}`: `min_group_size` must be a whole number of at least 1"
                    ),
                )
            })?;
        Ok(Action::Aggregate {
            functions: fs,
            min_group_size,
        })
    }

    fn detectors(&self, d: super::file::DetectorsFile) -> Result<Detectors, Error> {
        let mut out = Detectors::default();
        // Every detector's name, each used once: the enabled built-in ones,
        // then the rule file's patterns and dictionaries.
        let mut names = BTreeSet::new();
        for b in d.builtin {
            if !BUILTIN_DETECTORS.contains(&b.get_ref().as_str()) {
                return Err(self.err(
                    b.span(),
                    format!(
                        "unknown built-in detector `{}` (expected one of {})",
                        b.get_ref(),
                        BUILTIN_DETECTORS.join(", ")
                    ),
                ));
            }
            if names.insert(b.get_ref().clone()) {
                out.builtin.push(b.into_inner());
            }
        }
        for (name, words) in d.context {
            let list = self.context_words(&name, words.into_inner(), &out.builtin)?;
            out.context.insert(name.into_inner(), list);
        }
        for p in d.pattern {
            let p = p.into_inner();
            self.new_name(&mut names, &p.name, &out.builtin)?;
            out.patterns.push(self.pattern(p)?);
        }
        for dct in d.dictionary {
            let dct = dct.into_inner();
            self.new_name(&mut names, &dct.name, &out.builtin)?;
            out.dictionaries.push(self.dictionary(dct)?);
        }
        Ok(out)
    }

    /// Records a detector's name, refusing one already used.
    fn new_name(
        &self,
        names: &mut BTreeSet<String>,
        name: &Spanned<String>,
        builtin: &[String],
    ) -> Result<(), Error> {
        if names.insert(name.get_ref().clone()) {
            return Ok(());
        }
        let n = name.get_ref();
        let first = if builtin.contains(n) {
            " (once by `builtin`, which enables the built-in detector of that name)"
        } else {
            ""
        };
        Err(self.err(
            name.span(),
            format!("detector name `{n}` is used twice{first}"),
        ))
    }

    /// The context words a rule file gives a built-in detector with weak
    /// spellings, which `builtin` enables.
    fn context_words(
        &self,
        name: &Spanned<String>,
        words: Vec<Spanned<String>>,
        builtin: &[String],
    ) -> Result<Vec<String>, Error> {
        let n = name.get_ref().as_str();
        if !super::detectors::CONTEXT.iter().any(|(c, _)| *c == n) {
            let why = if BUILTIN_DETECTORS.contains(&n) {
                format!(
                    "built-in detector `{n}` takes no context words (only {} do: they have weak spellings)",
                    super::detectors::CONTEXT.iter().map(|(c, _)| format!("`{c}`")).collect::<Vec<_>>().join(" and ")
                )
            } else {
                format!("context words for `{n}`, which is not a built-in detector")
            };
            return Err(self.err(name.span(), why));
        }
        if !builtin.iter().any(|b| b == n) {
            return Err(self.err(
                name.span(),
                format!("context words for `{n}`, which `builtin` does not enable"),
            ));
        }
        let mut list = Vec::new();
        for w in words {
            let t = w.get_ref().trim();
            if t.is_empty()
                || t.len() > super::detectors::CONTEXT_WORD_MAX
                || t.chars().any(char::is_control)
            {
                return Err(self.err(
                    w.span(),
                    format!(
                        "context word `{}` of `{n}` must be 1 to {} bytes of text on one line",
                        w.get_ref().escape_debug(),
                        super::detectors::CONTEXT_WORD_MAX
                    ),
                ));
            }
            list.push(t.to_string());
        }
        Ok(list)
    }

    /// A pattern detector: its regex compiles within the size limit, its
    /// class is a token class.
    fn pattern(&self, p: PatternFile) -> Result<PatternDetector, Error> {
        regex::RegexBuilder::new(p.regex.get_ref())
            .size_limit(REGEX_SIZE_LIMIT)
            .build()
            .map_err(|e| {
                let why = match e {
                    regex::Error::CompiledTooBig(_) => "it compiles too big".to_string(),
                    other => other
                        .to_string()
                        .lines()
                        .last()
                        .unwrap_or("")
                        .trim()
                        .to_string(),
                };
                self.err(
                    p.regex.span(),
                    format!(
                        "detector `{}`: the regex is invalid: {why}",
                        p.name.get_ref()
                    ),
                )
            })?;
        let class = TokenClass::new(p.class.get_ref())
            .map_err(|m| self.err(p.class.span(), m.to_string()))?;
        Ok(PatternDetector {
            name: p.name.into_inner(),
            regex: p.regex.into_inner(),
            class,
            description: p.description,
        })
    }

    /// A dictionary detector: at least one term, none empty; its class is a
    /// token class.
    fn dictionary(&self, dct: DictionaryFile) -> Result<DictionaryDetector, Error> {
        if dct.terms.get_ref().is_empty() || dct.terms.get_ref().iter().any(|t| t.trim().is_empty())
        {
            return Err(self.err(
                dct.terms.span(),
                format!(
                    "dictionary `{}`: `terms` must list at least one term, and no empty term",
                    dct.name.get_ref()
                ),
            ));
        }
        let class = TokenClass::new(dct.class.get_ref())
            .map_err(|m| self.err(dct.class.span(), m.to_string()))?;
        Ok(DictionaryDetector {
            name: dct.name.into_inner(),
            terms: dct.terms.into_inner(),
            case_insensitive: dct.case_insensitive,
            class,
            description: dct.description,
        })
    }
}

/// Checks a `token_format`: `{class}` and `{token}` once each, with a
/// non-alphanumeric character before and after, so that tokens can be found
/// again in free text.
fn check_token_format(f: &str) -> Result<(), String> {
    let once = |p: &str| f.matches(p).count() == 1;
    if !once("{class}") || !once("{token}") {
        return Err(format!(
            "`token_format` `{f}` must contain `{{class}}` and `{{token}}` exactly once each"
        ));
    }
    let rest = f.replace("{class}", "").replace("{token}", "");
    if rest.contains('{') || rest.contains('}') || rest.chars().any(char::is_whitespace) {
        return Err(format!(
            "`token_format` `{f}` may hold no other braces and no white space"
        ));
    }
    let first = f.chars().next();
    let last = f.chars().last();
    let delim = |c: Option<char>| c.is_some_and(|c| !c.is_alphanumeric() && c != '{' && c != '}');
    if !delim(first) || !delim(last) {
        return Err(format!(
            "`token_format` `{f}` must start and end with a punctuation mark, such as `<` and `>`"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_from_one() {
        assert_eq!(line_col("ab\ncd", 0), (1, 1));
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
    }

    /// A pattern named after a built-in detector that `builtin` enables is
    /// written once: the error says where the other use is.
    #[test]
    fn a_name_taken_by_an_enabled_builtin_says_so() {
        let file = |builtin: &str, second: &str| {
            format!(
                "version = 1\n[detectors]\nbuiltin = [{builtin}]\n\
                 [[detectors.pattern]]\nname = \"email\"\nregex = \"x\"\nclass = \"e\"\n{second}"
            )
        };
        let err = |text: String| Policy::from_toml_str(&text).unwrap_err().to_string();
        let e = err(file("\"email\"", ""));
        assert!(
            e.contains("detector name `email` is used twice (once by `builtin`"),
            "{e}"
        );
        // Two patterns of one name: no built-in is named.
        let twice = "[[detectors.pattern]]\nname = \"email\"\nregex = \"y\"\nclass = \"e\"\n";
        let e = err(file("\"ssn\"", twice));
        assert!(e.contains("detector name `email` is used twice"), "{e}");
        assert!(!e.contains("builtin"), "{e}");
        // A dictionary too.
        let dict = "[[detectors.dictionary]]\nname = \"ssn\"\nterms = [\"a\"]\nclass = \"e\"\n";
        let e = err(file("\"ssn\"", dict));
        assert!(
            e.contains("detector name `ssn` is used twice (once by `builtin`"),
            "{e}"
        );
        // The built-in not enabled: the name is free.
        assert!(Policy::from_toml_str(&file("\"ssn\"", "")).is_ok());
    }

    #[test]
    fn token_format_needs_delimiters() {
        assert!(check_token_format("<{class}_{token}>").is_ok());
        assert!(check_token_format("{class}_{token}").is_err());
        assert!(check_token_format("<{class}>").is_err());
        assert!(check_token_format("<{class} {token}>").is_err());
    }
}
