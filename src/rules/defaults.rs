//! A rule file's `[defaults]`: what unlisted columns get, the token mode and format, the row cap.

use super::action::Action;

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
