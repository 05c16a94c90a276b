//! Rule files: the TOML policy format, parsed into serde wire types and then
//! validated into a [`Policy`].
//!
//! The format is a user-facing contract (`version = 1`); `rules/reference.toml`
//! shows every key. Unknown keys, unknown actions, masks or generalizations,
//! keys that do not belong to a column's action and roles that reveal unknown
//! classes are errors that name the file, line and column.

mod action;
mod file;
mod policy;

pub use self::action::{
    Action, AggregateFunction, Filter, Generalization, InvalidRuleValue, Mask, MaskKind, TokenClass,
};
pub use self::policy::{
    ColumnPolicy, Defaults, Detectors, DictionaryDetector, PatternDetector, Policy, TablePolicy,
    TokenMode, Unlisted, BUILTIN_DETECTORS,
};
