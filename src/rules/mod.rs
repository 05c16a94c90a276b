//! Rule files: the TOML policy format, parsed into serde wire types and then
//! validated into a [`Policy`].
//!
//! The format is a user-facing contract (`version = 1`); `rules/reference.toml`
//! shows every key. Unknown keys, unknown actions, masks or generalizations,
//! keys that do not belong to a column's action and roles that reveal unknown
//! classes are errors that name the file, line and column.

mod action;
mod column;
mod defaults;
mod detectors;
mod file;
pub(crate) mod policy;
mod validate;

pub use self::action::{
    Action, AggregateFunction, Filter, Generalization, InvalidRuleValue, Mask, MaskKind, TokenClass,
};
pub use self::column::{ColumnPolicy, TablePolicy};
pub use self::defaults::{Defaults, TokenMode, Unlisted};
pub(crate) use self::detectors::CONTEXT;
pub use self::detectors::{Detectors, DictionaryDetector, PatternDetector, BUILTIN_DETECTORS};
pub(crate) use self::policy::Policy;
