//! The protected columns whose values are looked for, and what their hits
//! are replaced by.

use crate::rules::{Action, Mask, Policy, TokenClass};
use crate::schema::{Catalog, ColumnType};

/// A protected column whose values are looked for.
#[derive(Debug, Clone)]
pub(crate) struct ColumnSpec {
    pub(crate) table: String,
    pub(crate) column: String,
    pub(crate) action: Action,
    pub(crate) match_parts: bool,
    /// `detect_values` as the rule file says it.
    pub(crate) explicit: Option<bool>,
}

impl ColumnSpec {
    /// What the saved index depends on for this column.
    pub(crate) fn identity(&self) -> String {
        let action = match &self.action {
            Action::Tokenize { class } => format!("tokenize:{}", class.as_str()),
            Action::Mask(kind) => format!("mask:{}", kind.as_tag()),
            other => other.as_tag().to_string(),
        };
        format!(
            "{}\u{1f}{}\u{1f}{action}\u{1f}{}",
            self.table, self.column, self.match_parts
        )
    }
}

/// The columns of a policy that may have their values found (the type check
/// comes when the engine's catalog is known).
pub(crate) fn column_specs(policy: &Policy) -> Vec<ColumnSpec> {
    let mut out = Vec::new();
    for t in policy.tables() {
        for c in &t.columns {
            // A text column with the default; the catalog decides later.
            if c.detects_values(true) || c.detects_values(false) {
                out.push(ColumnSpec {
                    table: t.name.clone(),
                    column: c.name.clone(),
                    action: c.action.clone(),
                    match_parts: c.match_parts,
                    explicit: c.detect_values,
                });
            }
        }
    }
    out
}

/// The specs whose values are loaded from an engine with this catalog, and
/// warnings for those the data lacks.
pub(crate) fn included(specs: &[ColumnSpec], catalog: &Catalog) -> (Vec<ColumnSpec>, Vec<String>) {
    let mut out = Vec::new();
    let mut warnings = Vec::new();
    for spec in specs {
        let ty = catalog
            .table(&spec.table)
            .and_then(|t| t.columns.iter().find(|c| c.name == spec.column))
            .map(|c| c.ty.clone());
        let Some(ty) = ty else {
            warnings.push(format!(
                "column `{}.{}` is not in the data; its values cannot be found in text",
                spec.table, spec.column
            ));
            continue;
        };
        if spec.explicit.unwrap_or(ty == ColumnType::Text) {
            out.push(spec.clone());
        }
    }
    (out, warnings)
}

/// What a hit of a column is replaced by.
#[derive(Debug, Clone)]
pub(crate) enum Replace {
    Token(TokenClass),
    Mask(Mask),
    Redact(String),
}

#[derive(Debug)]
pub(crate) struct KnownColumn {
    /// `known:<table>.<column>`.
    pub(crate) detector: String,
    /// The `class` of its hits: the token class, `mask:<kind>` or `redacted`.
    pub(crate) class: String,
    pub(crate) replace: Replace,
    /// Tie-break among hits of one length (see the module docs).
    pub(crate) specificity: u8,
}

impl KnownColumn {
    pub(crate) fn of(spec: &ColumnSpec) -> KnownColumn {
        let (replace, class, specificity) = match &spec.action {
            Action::Tokenize { class } => {
                (Replace::Token(class.clone()), class.as_str().to_string(), 6)
            }
            Action::Mask(kind) => (
                Replace::Mask(kind.clone()),
                format!("mask:{}", kind.as_tag()),
                0,
            ),
            _ => (
                Replace::Redact(format!("[redacted:{}]", spec.column)),
                "redacted".to_string(),
                7,
            ),
        };
        KnownColumn {
            detector: format!("known:{}.{}", spec.table, spec.column),
            class,
            replace,
            specificity,
        }
    }
}
