//! Protection: turns a guarded query's result into exactly what the model may
//! see, column by column, by the action the guard gave each output column.
//!
//! | action | what the model sees |
//! |---|---|
//! | `allow`, `aggregate` (a permitted aggregate's result) | the value |
//! | `tokenize` | a token per value ([`Tokens`]) |
//! | `mask` | the masked text |
//! | `generalize` | the coarser value |
//! | `scan` | the text with detector hits replaced by tokens |
//! | `deny` | never (a NULL column, should one ever arrive) |
//!
//! Every transform runs over a whole column; repeated values are transformed
//! once. Text that came from the data and has the shape of a token
//! (`<person_JZCCFFJT>` typed into a ticket) is neutralised in every text
//! column that is not `tokenize` ([`Tokens::neutralize`]), so that stored
//! data can never be revealed as another person's value; such runs are
//! counted as the detector hit `token_lookalike`.
//!
//! The `hash` mask is keyed per column (or per `link` group), so equal
//! values in two columns give unrelated hashes unless the rules link them.

mod rows;

pub use self::rows::JsonRows;

use std::collections::{BTreeMap, HashMap};

use polars::prelude::*;
use ring::hmac;

use crate::detect::Detector;
use crate::error::Error;
use crate::guard::GuardedQuery;
use crate::rules::{Action, Generalization, Mask};
use crate::tokens::{MasterKey, Tokens};
use crate::transform::{generalize, mask, mask_key};

/// What protection did to one output column.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ColumnReport {
    /// The output column.
    pub column: String,
    /// The action applied (`allow`, `tokenize`, …).
    pub action: &'static str,
    /// How many non-null values were transformed (0 for `allow`).
    pub values: usize,
}

/// A protected result: the rows the model may see, and what was done.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Protected {
    /// The rows.
    pub frame: DataFrame,
    /// Per output column.
    pub columns: Vec<ColumnReport>,
    /// Detector hits in `scan` columns, per detector.
    pub detector_hits: BTreeMap<String, usize>,
}

/// Applies column actions with one set of tokens, detectors and keys.
///
/// # Example
/// ```
/// use std::sync::Arc;
/// use sqlveil::{Engine, MasterKey, PolarsEngine, Policy};
/// use sqlveil::detect::Detector;
/// use sqlveil::guard::Guard;
/// use sqlveil::protect::Protector;
/// use sqlveil::tokens::{MemoryVault, Tokens};
///
/// let policy = Policy::from_path("rules/sample.toml")?;
/// let engine = PolarsEngine::open("examples/data", &policy)?;
/// let guard = Guard::new(&policy, engine.catalog())?;
/// let key = MasterKey::from_bytes(&[7; 32]);
/// let tokens = Tokens::new(&policy, key.clone(), Some(Arc::new(MemoryVault::new())))?;
/// let detector = Detector::new(&policy)?;
/// let protector = Protector::new(&tokens, &detector, &key)?;
///
/// let q = guard.check("SELECT full_name, email FROM customers WHERE city = 'Denver'")?;
/// let out = protector.protect(sqlveil::run(&engine, &q)?, &q)?;
/// let name = out.frame.column("full_name")?.str()?.get(0).unwrap().to_string();
/// assert!(name.starts_with("<person_"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Protector<'a> {
    tokens: &'a Tokens,
    detector: &'a Detector,
    key: MasterKey,
}

impl std::fmt::Debug for Protector<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Protector").finish_non_exhaustive()
    }
}

pub(crate) fn texts(c: &Column) -> Result<StringChunked, Error> {
    let t = c
        .cast(&DataType::String)
        .map_err(|_| Error::usage(format!("column `{}` cannot be read as text", c.name())))?;
    t.as_materialized_series()
        .str()
        .cloned()
        .map_err(|_| Error::usage(format!("column `{}` cannot be read as text", c.name())))
}

/// Maps every distinct non-null value of a text column once.
pub(crate) fn map_text(
    ca: &StringChunked,
    mut f: impl FnMut(&str) -> Result<String, Error>,
) -> Result<(StringChunked, usize), Error> {
    let mut cache: HashMap<&str, String> = HashMap::new();
    let mut n = 0;
    let mut out: Vec<Option<String>> = Vec::with_capacity(ca.len());
    for v in ca.iter() {
        match v {
            None => out.push(None),
            Some(v) => {
                n += 1;
                let t = match cache.get(v) {
                    Some(t) => t.clone(),
                    None => {
                        let t = f(v)?;
                        cache.insert(v, t.clone());
                        t
                    }
                };
                out.push(Some(t));
            }
        }
    }
    Ok((out.into_iter().collect(), n))
}

impl<'a> Protector<'a> {
    /// A protector.
    ///
    /// # Errors
    /// The mask key cannot be derived.
    pub fn new(
        tokens: &'a Tokens,
        detector: &'a Detector,
        key: &MasterKey,
    ) -> Result<Protector<'a>, Error> {
        Ok(Protector {
            tokens,
            detector,
            key: key.clone(),
        })
    }

    /// Protects a result of `query` (as returned by
    /// [`run`](crate::run)).
    ///
    /// # Errors
    /// A column that does not match the query's output columns, a value that
    /// cannot be transformed (a non-date generalized to a year), a vault
    /// failure.
    pub fn protect(&self, frame: DataFrame, query: &GuardedQuery) -> Result<Protected, Error> {
        if frame.width() != query.columns().len() {
            return Err(Error::usage(
                "the result does not have the guarded query's columns",
            ));
        }
        let mut columns = Vec::with_capacity(frame.width());
        let mut reports = Vec::with_capacity(frame.width());
        let mut detector_hits = BTreeMap::new();
        for (c, out) in frame.columns().iter().zip(query.columns()) {
            if c.name().as_str() != out.name {
                return Err(Error::usage(
                    "the result does not have the guarded query's columns",
                ));
            }
            let (col, n) = self.column(c, &out.action, &mut detector_hits)?;
            reports.push(ColumnReport {
                column: out.name.clone(),
                action: out.action.as_tag(),
                values: n,
            });
            columns.push(col);
        }
        let frame = DataFrame::new_infer_height(columns)
            .map_err(|_| Error::usage("the protected columns do not form a table"))?;
        Ok(Protected {
            frame,
            columns: reports,
            detector_hits,
        })
    }

    fn column(
        &self,
        c: &Column,
        action: &Action,
        hits: &mut BTreeMap<String, usize>,
    ) -> Result<(Column, usize), Error> {
        let name = c.name().clone();
        let non_null = c.len() - c.null_count();
        Ok(match action {
            Action::Allow | Action::Aggregate { .. } => {
                if c.dtype() != &DataType::String {
                    return Ok((c.clone(), 0));
                }
                let ca = texts(c)?;
                let (out, _) = map_text(&ca, |v| Ok(self.neutralize(v, hits)))?;
                (out.with_name(name).into_column(), 0)
            }
            Action::Deny => (
                Column::full_null(name, c.len(), &DataType::String),
                non_null,
            ),
            Action::Tokenize { class } => {
                let ca = texts(c)?;
                let (out, n) = map_text(&ca, |v| self.tokens.issue(class, v))?;
                (out.with_name(name).into_column(), n)
            }
            // A mask shows no token-shaped run: at most four characters and
            // a checked domain of the value (tested).
            Action::Mask(m) => (mask_text(c, m, &mask_key(&self.key, m)?)?, non_null),
            Action::Generalize(g) => {
                let out = generalize::generalize(c, *g)?;
                // `prefix:N` keeps text of the data.
                if out.dtype() == &DataType::String {
                    let ca = texts(&out)?;
                    let (out, _) = map_text(&ca, |v| Ok(self.neutralize(v, hits)))?;
                    (out.with_name(name).into_column(), non_null)
                } else {
                    (out, non_null)
                }
            }
            Action::Scan => {
                let ca = texts(c)?;
                let (out, n) = map_text(&ca, |v| {
                    let v = self.neutralize(v, hits);
                    let r = self.detector.redact(&v, self.tokens)?;
                    for (k, v) in r.counts {
                        *hits.entry(k).or_insert(0) += v;
                    }
                    Ok(r.text)
                })?;
                (out.with_name(name).into_column(), n)
            }
        })
    }
}

impl Protector<'_> {
    /// A text from the data with token-shaped runs made harmless, counted.
    fn neutralize(&self, v: &str, hits: &mut BTreeMap<String, usize>) -> String {
        let (t, n) = self.tokens.neutralize(v);
        if n > 0 {
            *hits.entry("token_lookalike".to_string()).or_insert(0) += n;
        }
        t.into_owned()
    }
}

/// Masks a column (cast to text first), one pass, no allocation per value.
fn mask_text(c: &Column, m: &Mask, key: &hmac::Key) -> Result<Column, Error> {
    let ca = texts(c)?;
    let out = ca.apply_into_string_amortized(|v, buf| mask::mask(m, v, key, buf));
    Ok(out.with_name(c.name().clone()).into_column())
}

/// Masks a whole column, as the protection stage does.
///
/// # Errors
/// The column cannot be read as text, or the key cannot be derived.
pub fn mask_column(c: &Column, m: &Mask, key: &MasterKey) -> Result<Column, Error> {
    mask_text(c, m, &mask_key(key, m)?)
}

/// Generalizes a whole column.
///
/// # Errors
/// The column's type does not fit the generalization.
pub fn generalize_column(c: &Column, g: Generalization) -> Result<Column, Error> {
    generalize::generalize(c, g)
}
