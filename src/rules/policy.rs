//! The validated policy: what a rule file means, once every key has been
//! checked.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::Spanned;

use super::action::{
    Action, AggregateFunction, Filter, Generalization, Mask, MaskKind, TokenClass,
};
use super::file::{ColumnFile, RuleFile};
use crate::error::Error;

/// The built-in detectors a rule file may enable, which are also the token
/// classes of their hits.
pub const BUILTIN_DETECTORS: &[&str] = &[
    "email",
    "phone",
    "ssn",
    "credit_card",
    "iban",
    "ipv4",
    "ipv6",
];

/// The largest `max_rows` a rule file may set.
const MAX_ROWS_LIMIT: i64 = 1_000_000;
/// The compiled-size cap on a rule file's regex, so that a rule file cannot
/// make detection blow up.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// What to do with data columns that the rule file does not name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Unlisted {
    /// Treat them as `deny` (the default).
    Deny,
    /// Treat them as `scan`.
    Scan,
    /// Treat them as `allow`.
    Allow,
}

impl Unlisted {
    /// The tag used in rule files.
    pub fn as_tag(self) -> &'static str {
        match self {
            Unlisted::Deny => "deny",
            Unlisted::Scan => "scan",
            Unlisted::Allow => "allow",
        }
    }

    /// The action an unlisted column gets.
    pub fn action(self) -> Action {
        match self {
            Unlisted::Deny => Action::Deny,
            Unlisted::Scan => Action::Scan,
            Unlisted::Allow => Action::Allow,
        }
    }
}

/// The token mode: `tokens` in the rule file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenMode {
    /// Short keyed tokens, reversible through a vault.
    Hash,
    /// Stateless deterministic encryption, reversible with the key alone.
    Sealed,
}

impl TokenMode {
    /// The tag used in rule files.
    pub fn as_tag(self) -> &'static str {
        match self {
            TokenMode::Hash => "hash",
            TokenMode::Sealed => "sealed",
        }
    }
}

/// The `[defaults]` of a rule file.
#[derive(Debug, Clone)]
pub struct Defaults {
    /// What unnamed data columns are.
    pub unlisted_columns: Unlisted,
    /// The row cap on every query.
    pub max_rows: u64,
    /// The token mode.
    pub tokens: TokenMode,
    /// How a token is written, with `{class}` and `{token}` placeholders.
    pub token_format: String,
}

/// The policy of one column.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnPolicy {
    /// The column's name, as written in the rule file (and in the data).
    pub name: String,
    /// What the model may see of it.
    pub action: Action,
    /// Where it may be compared.
    pub filter: Filter,
    /// A description shown to the model, if any.
    pub description: Option<String>,
    /// `detect_values`: whether the column's values are found in free text
    /// (known-value detection, see [`crate::detect`]). `None` when the rule
    /// file does not say: then text columns of `tokenize`, `mask` and `deny`
    /// columns are found, other columns are not.
    pub detect_values: Option<bool>,
    /// `match_parts`: whether the single words of a value (a first name, a
    /// surname) are found too, not only the whole value. `tokenize` columns
    /// only.
    pub match_parts: bool,
    /// `class` on a `mask`, `generalize` or `scan` column: the token class
    /// whose tokens may be compared with it (a question's `<email_…>`
    /// against an `email` column). A token of another class, or any token
    /// against a column without a class, is refused. `tokenize` columns take
    /// their action's class and leave this `None`.
    pub class: Option<TokenClass>,
}

impl ColumnPolicy {
    /// Whether known-value detection loads this column's values, given the
    /// column's type in the data: `detect_values` when the rule file sets
    /// it, else `true` for text columns of `tokenize`, `mask` and `deny`.
    pub fn detects_values(&self, is_text: bool) -> bool {
        let eligible = matches!(
            self.action,
            Action::Tokenize { .. } | Action::Mask(_) | Action::Deny
        );
        eligible && self.detect_values.unwrap_or(is_text)
    }
}

/// The policy of one table.
#[derive(Debug, Clone)]
pub struct TablePolicy {
    /// The table's name (the data file's stem for the polars engine).
    pub name: String,
    /// A description shown to the model.
    pub description: Option<String>,
    /// The column whose distinct values are the people a row is about.
    pub subject: Option<String>,
    /// The named columns, in name order.
    pub columns: Vec<ColumnPolicy>,
}

impl TablePolicy {
    /// The policy of a named column, matched exactly.
    pub fn column(&self, name: &str) -> Option<&ColumnPolicy> {
        self.columns.iter().find(|c| c.name == name)
    }
}

/// A custom regex detector.
#[derive(Debug, Clone)]
pub struct PatternDetector {
    /// The detector's name.
    pub name: String,
    /// The regex, checked to compile within the size limit.
    pub regex: String,
    /// The class of its hits.
    pub class: TokenClass,
    /// A description, if any.
    pub description: Option<String>,
}

/// A custom dictionary detector.
#[derive(Debug, Clone)]
pub struct DictionaryDetector {
    /// The detector's name.
    pub name: String,
    /// The terms it finds.
    pub terms: Vec<String>,
    /// Whether matching ignores case.
    pub case_insensitive: bool,
    /// The class of its hits.
    pub class: TokenClass,
    /// A description, if any.
    pub description: Option<String>,
}

/// The `[detectors]` of a rule file.
#[derive(Debug, Clone, Default)]
pub struct Detectors {
    /// Enabled built-in detectors, by name (see [`BUILTIN_DETECTORS`]).
    pub builtin: Vec<String>,
    /// Custom regex detectors.
    pub patterns: Vec<PatternDetector>,
    /// Custom dictionary detectors.
    pub dictionaries: Vec<DictionaryDetector>,
    /// Context words per built-in detector (`ssn`, `phone`), from
    /// `[detectors.context]`: each list replaces the built-in one, which
    /// `rules/detectors.toml` shows. Context words let a weak spelling (nine
    /// digits in a row, a phone number without separators) count as a hit;
    /// they never reject a strong one. An empty list turns weak spellings
    /// off.
    pub context: BTreeMap<String, Vec<String>>,
}

/// A validated policy for one data source.
///
/// # Example
/// ```
/// use sqlveil::{Action, Policy};
/// let policy = Policy::from_toml_str(r#"
///     version = 1
///     [tables.people.columns]
///     name = { action = "tokenize", class = "person" }
///     ssn = { action = "deny" }
/// "#)?;
/// let people = policy.table("people").unwrap();
/// assert_eq!(people.column("ssn").unwrap().action, Action::Deny);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Policy {
    defaults: Defaults,
    tables: Vec<TablePolicy>,
    detectors: Detectors,
    roles: BTreeMap<String, BTreeSet<TokenClass>>,
    path: Option<PathBuf>,
    digest: String,
}

impl Policy {
    /// Reads and validates a rule file.
    ///
    /// # Errors
    /// An unreadable file, malformed TOML, an unknown key or an invalid value:
    /// each names the file, line and column.
    ///
    /// # Example
    /// ```
    /// let policy = sqlveil::Policy::from_path("rules/sample.toml")?;
    /// assert!(policy.table("customers").is_some());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_path(path: impl AsRef<Path>) -> Result<Policy, Error> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| {
            Error::new(crate::error::ErrorKind::Io {
                path: path.to_path_buf(),
                source,
            })
        })?;
        Policy::parse(&text, Some(path))
    }

    /// Parses and validates a rule file's text.
    ///
    /// # Errors
    /// Malformed TOML, an unknown key or an invalid value, naming the line and
    /// column.
    pub fn from_toml_str(text: &str) -> Result<Policy, Error> {
        Policy::parse(text, None)
    }

    fn parse(text: &str, path: Option<&Path>) -> Result<Policy, Error> {
        let file: RuleFile = toml::from_str(text).map_err(|e| {
            let at = e.span().map(|s| line_col(text, s.start));
            Error::rules_at(path, at, e.message().trim().replace('\n', " "))
        })?;
        Validator { text, path }.policy(file)
    }

    /// The SHA-256 of the rule file's text, in hex: names this version of the
    /// rules (the chat pipeline keys its SQL cache with it).
    pub fn digest(&self) -> &str {
        &self.digest
    }

    /// The defaults.
    pub fn defaults(&self) -> &Defaults {
        &self.defaults
    }

    /// The tables, in name order.
    pub fn tables(&self) -> &[TablePolicy] {
        &self.tables
    }

    /// A table's policy by exact name.
    pub fn table(&self, name: &str) -> Option<&TablePolicy> {
        self.tables.iter().find(|t| t.name == name)
    }

    /// The detectors.
    pub fn detectors(&self) -> &Detectors {
        &self.detectors
    }

    /// The classes a role may reveal; `None` for an unknown role.
    pub fn role(&self, name: &str) -> Option<&BTreeSet<TokenClass>> {
        self.roles.get(name)
    }

    /// The role names.
    pub fn roles(&self) -> impl Iterator<Item = &str> {
        self.roles.keys().map(String::as_str)
    }

    /// The file the policy was read from, if any.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The policy of a data column, applying `unlisted_columns` to columns the
    /// file does not name. `None` when the table is not in the policy.
    pub fn effective_column(&self, table: &str, column: &str) -> Option<ColumnPolicy> {
        let t = self.table(table)?;
        Some(t.column(column).cloned().unwrap_or_else(|| {
            let action = self.defaults.unlisted_columns.action();
            ColumnPolicy {
                name: column.to_string(),
                filter: action.default_filter(),
                action,
                description: None,
                detect_values: None,
                match_parts: false,
                class: None,
            }
        }))
    }

    /// Every token class the policy knows: tokenize classes, and the classes
    /// of enabled and custom detectors.
    pub fn classes(&self) -> BTreeSet<TokenClass> {
        let mut out = BTreeSet::new();
        for t in &self.tables {
            for c in &t.columns {
                if let Action::Tokenize { class } = &c.action {
                    out.insert(class.clone());
                }
            }
        }
        for b in &self.detectors.builtin {
            if let Ok(c) = TokenClass::new(b) {
                out.insert(c);
            }
        }
        out.extend(self.detectors.patterns.iter().map(|p| p.class.clone()));
        out.extend(self.detectors.dictionaries.iter().map(|d| d.class.clone()));
        out
    }
}

/// 1-based line and column of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

struct Validator<'a> {
    text: &'a str,
    path: Option<&'a Path>,
}

impl Validator<'_> {
    fn err(&self, span: Range<usize>, message: impl Into<String>) -> Error {
        Error::rules_at(self.path, Some(line_col(self.text, span.start)), message)
    }

    fn policy(&self, file: RuleFile) -> Result<Policy, Error> {
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
        let tag = c.action.get_ref().as_str();
        let at = |key: &str| format!("column `{table}.{name}`: key `{key}`");
        // Keys that belong to other actions are errors, not silently ignored.
        let allowed: &[&str] = match tag {
            "allow" => &["filter"],
            "scan" => &["filter", "class"],
            "deny" => &["detect_values"],
            "tokenize" => &["class", "filter", "detect_values", "match_parts"],
            "mask" => &["mask", "filter", "detect_values", "class", "fixed_length", "link"],
            "generalize" => &["to", "filter", "class"],
            "aggregate" => &["functions", "min_group_size"],
            other => {
                return Err(self.err(
                    c.action.span(),
                    format!(
                        "column `{table}.{name}`: unknown action `{other}` (expected allow, deny, tokenize, mask, generalize, scan or aggregate)"
                    ),
                ))
            }
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
                    return Err(
                        self.err(sp, format!("{} does not apply to action `{tag}`", at(key)))
                    );
                }
            }
        }
        let required = |key: &str| {
            self.err(
                span.clone(),
                format!("column `{table}.{name}`: action `{tag}` needs key `{key}`"),
            )
        };
        let action = match tag {
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
            "mask" => {
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
                            format!(
                                "column `{table}.{name}`: `link` applies to the hash mask only"
                            ),
                        ))
                    }
                    (None, MaskKind::Hash) => Some(format!("column:{table}.{name}")),
                    (None, _) => None,
                };
                Action::Mask(Mask {
                    kind,
                    fixed_length,
                    hash_key,
                })
            }
            "generalize" => {
                let to = c.to.as_ref().ok_or_else(|| required("to"))?;
                Action::Generalize(
                    Generalization::parse(to.get_ref()).map_err(|m| {
                        self.err(to.span(), format!("column `{table}.{name}`: {m}"))
                    })?,
                )
            }
            _ => {
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
                Action::Aggregate {
                    functions: fs,
                    min_group_size,
                }
            }
        };
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

    fn detectors(&self, d: super::file::DetectorsFile) -> Result<Detectors, Error> {
        let mut out = Detectors::default();
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
            let n = name.get_ref().as_str();
            if !crate::detect::CONTEXT.iter().any(|(c, _)| *c == n) {
                let why = if BUILTIN_DETECTORS.contains(&n) {
                    format!(
                        "built-in detector `{n}` takes no context words (only {} do: they have weak spellings)",
                        crate::detect::CONTEXT.iter().map(|(c, _)| format!("`{c}`")).collect::<Vec<_>>().join(" and ")
                    )
                } else {
                    format!("context words for `{n}`, which is not a built-in detector")
                };
                return Err(self.err(name.span(), why));
            }
            if !out.builtin.iter().any(|b| b == n) {
                return Err(self.err(
                    name.span(),
                    format!("context words for `{n}`, which `builtin` does not enable"),
                ));
            }
            let mut list = Vec::new();
            for w in words.into_inner() {
                let t = w.get_ref().trim();
                if t.is_empty()
                    || t.len() > crate::detect::CONTEXT_WORD_MAX
                    || t.chars().any(char::is_control)
                {
                    return Err(self.err(
                        w.span(),
                        format!(
                            "context word `{}` of `{n}` must be 1 to {} bytes of text on one line",
                            w.get_ref().escape_debug(),
                            crate::detect::CONTEXT_WORD_MAX
                        ),
                    ));
                }
                list.push(t.to_string());
            }
            out.context.insert(n.to_string(), list);
        }
        for p in d.pattern {
            let span = p.span();
            let p = p.into_inner();
            if !names.insert(p.name.get_ref().clone()) {
                return Err(self.err(
                    p.name.span(),
                    format!("detector name `{}` is used twice", p.name.get_ref()),
                ));
            }
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
            let _ = span;
            out.patterns.push(PatternDetector {
                name: p.name.into_inner(),
                regex: p.regex.into_inner(),
                class,
                description: p.description,
            });
        }
        for dct in d.dictionary {
            let dct = dct.into_inner();
            if !names.insert(dct.name.get_ref().clone()) {
                return Err(self.err(
                    dct.name.span(),
                    format!("detector name `{}` is used twice", dct.name.get_ref()),
                ));
            }
            if dct.terms.get_ref().is_empty()
                || dct.terms.get_ref().iter().any(|t| t.trim().is_empty())
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
            out.dictionaries.push(DictionaryDetector {
                name: dct.name.into_inner(),
                terms: dct.terms.into_inner(),
                case_insensitive: dct.case_insensitive,
                class,
                description: dct.description,
            });
        }
        Ok(out)
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

    #[test]
    fn token_format_needs_delimiters() {
        assert!(check_token_format("<{class}_{token}>").is_ok());
        assert!(check_token_format("{class}_{token}").is_err());
        assert!(check_token_format("<{class}>").is_err());
        assert!(check_token_format("<{class} {token}>").is_err());
    }
}
