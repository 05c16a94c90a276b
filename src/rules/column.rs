//! The validated policy of one table and of one column.

use super::action::{Action, Filter, TokenClass};

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
