//! Known-value detection: the distinct values of protected columns, in two
//! FSTs (the `fst` crate) over their normalised spellings. The choices are
//! documented on the parent module.

mod build;
mod file;
mod options;
mod report;
mod runs;
mod spec;
mod value;
mod walk;

pub use self::file::KnownIndexStore;
pub(crate) use self::file::SavedIndex;
pub use self::options::KnownValuesOptions;
pub use self::report::{KnownColumnReport, KnownPhase, KnownProgress, KnownValuesReport};
pub(crate) use self::spec::{column_specs, included, ColumnSpec, KnownColumn, Replace};
pub(crate) use self::value::Templates;
pub(crate) use self::walk::{Head, KnownHit};

use fst::Map;

/// The loaded values: two FSTs and what gives back stored spellings.
pub(crate) struct KnownValues {
    /// Text keys (names, streets, emails).
    pub(crate) text: Option<Map<Vec<u8>>>,
    /// Digit keys (SSNs, phones, cards, customer numbers).
    pub(crate) digits: Option<Map<Vec<u8>>>,
    pub(crate) templates: Templates,
    pub(crate) spellings: Vec<u8>,
    pub(crate) columns: Vec<KnownColumn>,
    pub(crate) parts_any_case: bool,
    /// The root transitions of the two FSTs by first byte, so that the many
    /// walks that end at once cost a table look-up.
    pub(crate) heads: [Head; 2],
    /// What the index was built from (see `file`); empty when the
    /// engine cannot tell.
    pub(crate) identity: Option<[u8; 32]>,
    pub(crate) report: KnownValuesReport,
}

impl std::fmt::Debug for KnownValues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KnownValues")
            .field("patterns", &self.report.patterns)
            .finish_non_exhaustive()
    }
}

/// What the tests of the submodules share.
#[cfg(test)]
mod testing {
    use super::*;
    use crate::rules::{Action, TokenClass};

    pub(super) fn spec(action: Action, parts: bool) -> ColumnSpec {
        ColumnSpec {
            table: "people".into(),
            column: "name".into(),
            action,
            match_parts: parts,
            explicit: None,
        }
    }

    pub(super) fn person() -> Action {
        Action::Tokenize {
            class: TokenClass::new("person").unwrap(),
        }
    }

    pub(super) fn hits(kv: &KnownValues, text: &str) -> Vec<String> {
        let mut out = Vec::new();
        kv.find(text, &mut out);
        out.iter()
            .map(|h| format!("{}={}", &text[h.range.clone()], h.value))
            .collect()
    }
}
