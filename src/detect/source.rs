//! Where known values and known dates are read from: a [`ValueSource`].
//!
//! Detection sits below the engines, so it names what it reads through a
//! trait of its own; every [`Engine`](crate::Engine) is a `ValueSource`
//! (the engine layer implements it by forwarding to the engine's methods
//! of the same names).

use crate::error::Error;
use crate::schema::Catalog;

/// What known-value and known-date detection read from the data: the
/// catalog, the distinct values of a column, and an identity of the data's
/// current state.
///
/// Every [`Engine`](crate::Engine) is one, so a detector is built from an
/// engine directly ([`Detector::with_known_values`](super::Detector::with_known_values),
/// [`Detector::refresh`](super::Detector::refresh)). Implement it for
/// another source of the same values; the methods mean what
/// [`Engine::catalog`](crate::Engine::catalog),
/// [`Engine::distinct_values`](crate::Engine::distinct_values) and
/// [`Engine::data_identity`](crate::Engine::data_identity) mean.
///
/// # Example
/// ```
/// use sqlveil::{PolarsEngine, Policy};
/// use sqlveil::detect::ValueSource;
///
/// let policy = Policy::from_path("rules/sample.toml")?;
/// let engine = PolarsEngine::open("examples/data", &policy)?;
/// let source: &dyn ValueSource = &engine;
/// let mut n = 0;
/// source.distinct_values("customers", "city", Some(3), &mut |_| {
///     n += 1;
///     Ok(())
/// })?;
/// assert_eq!(n, 3);
/// assert!(source.catalog().table("customers").is_some());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait ValueSource {
    /// The tables and columns of the data (only those the policy names).
    fn catalog(&self) -> &Catalog;

    /// Reads the distinct non-null values of one column of the catalog, as
    /// text, passing each to `each`: all of them when `limit` is `None`,
    /// else the first `limit` in ascending order. An error from `each`
    /// stops the read and is returned.
    ///
    /// # Errors
    /// A table or column not in the catalog (a usage error); a failure of
    /// the source, as an [`ErrorKind::Engine`](crate::ErrorKind::Engine)
    /// whose message holds no data value.
    fn distinct_values(
        &self,
        table: &str,
        column: &str,
        limit: Option<u64>,
        each: &mut dyn FnMut(&str) -> Result<(), Error>,
    ) -> Result<(), Error>;

    /// What identifies the current state of the data of `tables`, so that
    /// a saved known-value index is used only for the data it was built
    /// from; `None` (the default) when the source cannot tell (the index is then rebuilt
    /// at every start).
    ///
    /// # Errors
    /// A table's data cannot be examined.
    fn data_identity(&self, tables: &[&str]) -> Result<Option<String>, Error> {
        let _ = tables;
        Ok(None)
    }
}
