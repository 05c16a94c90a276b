//! Column actions: what the model may see of a column, and where the column
//! may be referenced.

use std::fmt;

/// A value the rules cannot use (a token class name, a generalization),
/// with the one sentence that says why; the value itself is the rule
/// file's, never data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidRuleValue(String);

/// A token class, such as `person` or `patient`: the kind of value a token
/// stands for, and the unit of the roles' `reveal` permission.
///
/// Class names are lowercase ASCII: `[a-z][a-z0-9_]*`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TokenClass(String);

impl TokenClass {
    /// Checks and wraps a class name.
    ///
    /// # Errors
    /// Returns a sentence saying why the name is not a valid class name.
    ///
    /// # Example
    /// ```
    /// use sqlveil::rules::TokenClass;
    /// assert_eq!(TokenClass::new("person")?.as_str(), "person");
    /// assert!(TokenClass::new("Person").is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(name: &str) -> Result<TokenClass, InvalidRuleValue> {
        let mut chars = name.chars();
        let ok = matches!(chars.next(), Some('a'..='z'))
            && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_'))
            && name.len() <= 40;
        if ok {
            Ok(TokenClass(name.to_string()))
        } else {
            Err(InvalidRuleValue(format!(
                "class `{name}` is not a valid class name (lowercase letters, digits and `_`, starting with a letter, at most 40)"
            )))
        }
    }

    /// The class name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TokenClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How a `mask` column is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MaskKind {
    /// `j***@example.com`: first character of the local part and the domain.
    Email,
    /// All but the last four characters replaced.
    Last4,
    /// All but the first four characters replaced.
    First4,
    /// Every character replaced.
    Full,
    /// A keyed, irreversible hash of the value.
    Hash,
}

impl MaskKind {
    /// The tag used in rule files.
    pub fn as_tag(self) -> &'static str {
        match self {
            MaskKind::Email => "email",
            MaskKind::Last4 => "last4",
            MaskKind::First4 => "first4",
            MaskKind::Full => "full",
            MaskKind::Hash => "hash",
        }
    }

    /// Parses a rule file tag.
    pub fn from_tag(tag: &str) -> Option<MaskKind> {
        Some(match tag {
            "email" => MaskKind::Email,
            "last4" => MaskKind::Last4,
            "first4" => MaskKind::First4,
            "full" => MaskKind::Full,
            "hash" => MaskKind::Hash,
            _ => return None,
        })
    }
}

/// How a `mask` column is shown: the kind of mask and its options.
///
/// # Example
/// ```
/// use sqlveil::Policy;
/// use sqlveil::rules::{Action, MaskKind};
/// let policy = Policy::from_toml_str(r#"
///     version = 1
///     [tables.t.columns]
///     phone = { action = "mask", mask = "last4", fixed_length = true }
///     email = { action = "mask", mask = "hash", link = "contact" }
/// "#)?;
/// let t = policy.table("t").unwrap();
/// let Action::Mask(m) = &t.column("phone").unwrap().action else { panic!() };
/// assert_eq!((m.kind, m.fixed_length), (MaskKind::Last4, true));
/// let Action::Mask(m) = &t.column("email").unwrap().action else { panic!() };
/// assert_eq!(m.hash_key.as_deref(), Some("link:contact"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Mask {
    /// The kind of mask.
    pub kind: MaskKind,
    /// `fixed_length = true`: the mask does not show the value's length.
    /// `last4` gives `****1234` and `first4` `1234****` whatever the
    /// length; a value too short for them, and an `email` value without a
    /// valid domain, give `********`.
    pub fixed_length: bool,
    /// For `hash` masks, whose key hashes the values: `column:<table>.<column>`
    /// for a column's own key (the default in rule files, so equal values in
    /// two columns give unrelated hashes), or `link:<name>` for the key that
    /// every column with `link = "<name>"` shares (equal values link across
    /// them). `None` (masks built in code): one key shared by every such mask.
    pub hash_key: Option<String>,
}

impl Mask {
    /// A mask of a kind with no options (variable length, the shared hash key).
    pub fn new(kind: MaskKind) -> Mask {
        Mask {
            kind,
            fixed_length: false,
            hash_key: None,
        }
    }

    /// With `fixed_length` set or not.
    pub fn fixed_length(mut self, yes: bool) -> Mask {
        self.fixed_length = yes;
        self
    }

    /// With a hash key scope (`link:<name>` or `column:<table>.<column>`).
    pub fn hash_key(mut self, scope: impl Into<String>) -> Mask {
        self.hash_key = Some(scope.into());
        self
    }

    /// The kind's tag in rule files.
    pub fn as_tag(&self) -> &'static str {
        self.kind.as_tag()
    }
}

impl From<MaskKind> for Mask {
    fn from(kind: MaskKind) -> Mask {
        Mask::new(kind)
    }
}

/// How a `generalize` column is coarsened.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum Generalization {
    /// A date or datetime reduced to its year.
    Year,
    /// A date or datetime reduced to its year and month.
    Month,
    /// The first `N` characters of a text value.
    Prefix(u32),
    /// A number floored to a bin of width `N` (`bucket:10` turns 37 into 30).
    Bucket(f64),
    /// A number rounded to the nearest multiple of `N` (`round:1000`).
    Round(f64),
}

impl Generalization {
    /// Parses a rule file value such as `year` or `prefix:3`.
    ///
    /// # Errors
    /// Returns a sentence naming the malformed value.
    ///
    /// # Example
    /// ```
    /// use sqlveil::rules::Generalization;
    /// assert_eq!(Generalization::parse("prefix:3")?, Generalization::Prefix(3));
    /// assert!(Generalization::parse("prefix:x").is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn parse(s: &str) -> Result<Generalization, InvalidRuleValue> {
        match s {
            "year" => return Ok(Generalization::Year),
            "month" => return Ok(Generalization::Month),
            _ => {}
        }
        let Some((kind, n)) = s.split_once(':') else {
            return Err(InvalidRuleValue(format!(
                "`{s}` is not a generalization (expected year, month, prefix:N, bucket:N or round:N)"
            )));
        };
        match kind {
            "prefix" => match n.parse::<u32>() {
                Ok(n) if n >= 1 => Ok(Generalization::Prefix(n)),
                _ => Err(InvalidRuleValue(format!("`{s}`: N in prefix:N must be a whole number of at least 1"))),
            },
            "bucket" | "round" => match n.parse::<f64>() {
                Ok(w) if w.is_finite() && w > 0.0 => Ok(if kind == "bucket" {
                    Generalization::Bucket(w)
                } else {
                    Generalization::Round(w)
                }),
                _ => Err(InvalidRuleValue(format!("`{s}`: N in {kind}:N must be a positive number"))),
            },
            _ => Err(InvalidRuleValue(format!(
                "`{s}` is not a generalization (expected year, month, prefix:N, bucket:N or round:N)"
            ))),
        }
    }
}

impl fmt::Display for Generalization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Generalization::Year => f.write_str("year"),
            Generalization::Month => f.write_str("month"),
            Generalization::Prefix(n) => write!(f, "prefix:{n}"),
            Generalization::Bucket(n) => write!(f, "bucket:{n}"),
            Generalization::Round(n) => write!(f, "round:{n}"),
        }
    }
}

/// An aggregate function an `aggregate` column may be summarised with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum AggregateFunction {
    /// `COUNT`
    Count,
    /// `SUM`
    Sum,
    /// `AVG`
    Avg,
    /// `MIN`
    Min,
    /// `MAX`
    Max,
    /// `MEDIAN`
    Median,
    /// `STDDEV`
    Stddev,
    /// `VARIANCE`
    Variance,
}

impl AggregateFunction {
    /// The lowercase name used in rule files and SQL.
    pub fn as_tag(self) -> &'static str {
        match self {
            AggregateFunction::Count => "count",
            AggregateFunction::Sum => "sum",
            AggregateFunction::Avg => "avg",
            AggregateFunction::Min => "min",
            AggregateFunction::Max => "max",
            AggregateFunction::Median => "median",
            AggregateFunction::Stddev => "stddev",
            AggregateFunction::Variance => "variance",
        }
    }

    /// Parses a name, case-insensitively.
    pub fn from_tag(tag: &str) -> Option<AggregateFunction> {
        Some(match tag.to_ascii_lowercase().as_str() {
            "count" => AggregateFunction::Count,
            "sum" => AggregateFunction::Sum,
            "avg" => AggregateFunction::Avg,
            "min" => AggregateFunction::Min,
            "max" => AggregateFunction::Max,
            "median" => AggregateFunction::Median,
            "stddev" => AggregateFunction::Stddev,
            "variance" => AggregateFunction::Variance,
            _ => return None,
        })
    }
}

/// Where a protected column may be compared: `filter` in the rule file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Filter {
    /// Not in `WHERE`, `ON`, `HAVING`, `GROUP BY` or `PARTITION BY`.
    None,
    /// Equality only (`=`, `<>`, `IN`, `IS [NOT] NULL`, equi-joins with the
    /// same action and class, `GROUP BY`, `COUNT(DISTINCT …)`), and only
    /// against tokens sqlveil issued.
    Equality,
    /// Any predicate.
    Any,
}

impl Filter {
    /// The tag used in rule files.
    pub fn as_tag(self) -> &'static str {
        match self {
            Filter::None => "none",
            Filter::Equality => "equality",
            Filter::Any => "any",
        }
    }

    /// Parses a rule file tag.
    pub fn from_tag(tag: &str) -> Option<Filter> {
        Some(match tag {
            "none" => Filter::None,
            "equality" => Filter::Equality,
            "any" => Filter::Any,
            _ => return None,
        })
    }
}

/// What a column's policy does with it: the `action` of the rule file and
/// its parameters.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Action {
    /// The raw value.
    Allow,
    /// Never shown, never referenced.
    Deny,
    /// A deterministic keyed token per value.
    Tokenize {
        /// The token class.
        class: TokenClass,
    },
    /// Partially masked.
    Mask(Mask),
    /// Coarsened.
    Generalize(Generalization),
    /// Free text with detector hits replaced by tokens.
    Scan,
    /// Only inside the listed aggregate functions, over groups of at least
    /// `min_group_size` distinct subjects.
    Aggregate {
        /// The functions the column may be summarised with.
        functions: Vec<AggregateFunction>,
        /// The smallest number of distinct subjects a group must have.
        min_group_size: u32,
    },
}

impl Action {
    /// The action's tag in rule files: `allow`, `deny`, `tokenize`, `mask`,
    /// `generalize`, `scan` or `aggregate`.
    pub fn as_tag(&self) -> &'static str {
        match self {
            Action::Allow => "allow",
            Action::Deny => "deny",
            Action::Tokenize { .. } => "tokenize",
            Action::Mask(_) => "mask",
            Action::Generalize(_) => "generalize",
            Action::Scan => "scan",
            Action::Aggregate { .. } => "aggregate",
        }
    }

    /// How strict the action is: `deny` > `aggregate` > `tokenize` > `mask` >
    /// `generalize` > `scan` > `allow`. A derived column takes the strictest
    /// action among its sources.
    pub fn strictness(&self) -> u8 {
        match self {
            Action::Allow => 0,
            Action::Scan => 1,
            Action::Generalize(_) => 2,
            Action::Mask(_) => 3,
            Action::Tokenize { .. } => 4,
            Action::Aggregate { .. } => 5,
            Action::Deny => 6,
        }
    }

    /// The `filter` an action has when the rule file does not set one:
    /// `any` for `allow`, `equality` for `tokenize`, `none` otherwise.
    pub fn default_filter(&self) -> Filter {
        match self {
            Action::Allow => Filter::Any,
            Action::Tokenize { .. } => Filter::Equality,
            _ => Filter::None,
        }
    }

    /// A short human description of how the model sees the column, e.g.
    /// `token (class person)` or `masked (last4)`.
    pub fn describe(&self) -> String {
        match self {
            Action::Allow => "raw value".into(),
            Action::Deny => "never shown".into(),
            Action::Tokenize { class } => format!("token (class {class})"),
            Action::Mask(m) => format!("masked ({})", m.as_tag()),
            Action::Generalize(g) => format!("generalized ({g})"),
            Action::Scan => "free text with personal data replaced by tokens".into(),
            Action::Aggregate {
                functions,
                min_group_size,
            } => {
                let f: Vec<&str> = functions.iter().map(|f| f.as_tag()).collect();
                format!(
                    "only as {} over groups of at least {min_group_size}",
                    f.join("/")
                )
            }
        }
    }
}
