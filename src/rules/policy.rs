//! The validated policy: what a rule file means, once every key has been
//! checked.

use super::action::{Action, TokenClass};
use super::column::{ColumnPolicy, TablePolicy};
use super::defaults::Defaults;
use super::detectors::Detectors;
use super::file::RuleFile;
use super::validate::{line_col, Validator};
use crate::error::Error;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A validated policy for one data source.
///
/// # Example
/// ```
/// use sqlveil::Policy;
/// use sqlveil::rules::Action;
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
    pub(super) defaults: Defaults,
    pub(super) tables: Vec<TablePolicy>,
    pub(super) detectors: Detectors,
    pub(super) roles: BTreeMap<String, BTreeSet<TokenClass>>,
    pub(super) path: Option<PathBuf>,
    pub(super) digest: String,
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
