//! What a build or load of the known values reports, and its progress.

use std::path::PathBuf;
use std::time::Duration;

/// What known-value detection loaded for one column.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct KnownColumnReport {
    /// The table.
    pub table: String,
    /// The column.
    pub column: String,
    /// The column's action (`tokenize`, `mask` or `deny`).
    pub action: &'static str,
    /// Distinct non-null values read from the engine: all of them.
    pub values: usize,
    /// Values skipped as too short or as common numbers.
    pub skipped: usize,
    /// Values indexed by their digits and letters (mostly-digit values such
    /// as phone, card or customer numbers), out of `values`.
    pub digit_values: usize,
    /// Keys the column added to the index (values, national forms of
    /// phone numbers and parts; before merging keys shared with other
    /// columns).
    pub patterns: usize,
    /// The column's share of the index's memory (by key bytes; an
    /// estimate).
    pub memory_bytes: usize,
}

/// What a build or load of the known values holds, and what it costs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct KnownValuesReport {
    /// Per column, in policy order.
    pub columns: Vec<KnownColumnReport>,
    /// Keys in the index, after merging.
    pub patterns: usize,
    /// Memory of the two FSTs (text keys and digit keys).
    pub index_bytes: usize,
    /// Memory of the stored spellings the FSTs cannot give back (values
    /// whose stored spelling is neither the key, nor its title or upper
    /// case, nor a digit template).
    pub values_bytes: usize,
    /// How long reading and building (or loading) took.
    pub build_time: Duration,
    /// The saved index this one was read from, when it was.
    pub loaded_from: Option<PathBuf>,
    /// Where this index was saved, when it was.
    pub saved_to: Option<PathBuf>,
    /// Warnings: columns missing from the data, a saved index that was
    /// stale or corrupt and rebuilt, an index that could not be saved. They
    /// name columns and files, never values.
    pub warnings: Vec<String>,
}

impl KnownValuesReport {
    /// All memory known-value detection holds, in bytes.
    pub fn memory_bytes(&self) -> usize {
        self.index_bytes + self.values_bytes
    }
}

/// What a build of the known values is doing, for a progress line.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct KnownProgress {
    /// The step.
    pub phase: KnownPhase,
    /// The column being read (`table.column`), in [`KnownPhase::Reading`].
    pub column: Option<String>,
    /// Columns read so far.
    pub columns_done: usize,
    /// Columns to read.
    pub columns: usize,
    /// Values read so far, all columns.
    pub values: u64,
    /// Time since the build started.
    pub elapsed: Duration,
}

/// A step of building the known-value index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KnownPhase {
    /// Reading a saved index.
    Loading,
    /// Reading a column's values from the engine.
    Reading,
    /// Merging the sorted runs into the index.
    Indexing,
    /// Writing the index next to the data.
    Saving,
    /// Finished.
    Done,
}

impl KnownPhase {
    /// The step in words (`reading`, `indexing`, …).
    pub fn as_str(&self) -> &'static str {
        match self {
            KnownPhase::Loading => "loading the saved index",
            KnownPhase::Reading => "reading values",
            KnownPhase::Indexing => "indexing",
            KnownPhase::Saving => "saving the index",
            KnownPhase::Done => "done",
        }
    }
}
