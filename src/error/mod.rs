//! Every failure: [`Error`] with its
//! [`ErrorKind`] (at the crate root), a guard's
//! [`Refusal`] with its [`Reason`], and a model's [`ModelError`].
//!
//! The lowest layer: it imports no other folder of the crate.

pub(crate) mod kind;
mod model;
mod refusal;

pub(crate) use self::kind::{Error, ErrorKind};
pub use self::model::ModelError;
pub use self::refusal::{Reason, Refusal};
