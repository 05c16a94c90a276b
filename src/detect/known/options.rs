//! The options of known-value detection.

/// Options of known-value detection.
///
/// There is no cap on the number of values: every distinct value of every
/// loaded column is found. The one limit is on memory
/// ([`max_memory`](Self::max_memory)), and exceeding it is an error when the
/// index is built, never a partial index.
///
/// # Example
/// ```
/// use sqlveil::detect::KnownValuesOptions;
/// let o = KnownValuesOptions::new().max_memory(512 << 20).min_chars(4);
/// assert_eq!(o.get_max_memory(), 512 << 20);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownValuesOptions {
    pub(super) min_chars: usize,
    pub(super) min_digits: usize,
    pub(super) min_part_chars: usize,
    pub(super) parts_any_case: bool,
    pub(super) max_memory: u64,
    pub(super) build_buffer: u64,
}

impl Default for KnownValuesOptions {
    fn default() -> Self {
        KnownValuesOptions {
            min_chars: 3,
            min_digits: 6,
            min_part_chars: 4,
            parts_any_case: false,
            max_memory: 4 << 30,
            build_buffer: 256 << 20,
        }
    }
}

impl KnownValuesOptions {
    /// The defaults: values of at least 3 characters, numbers of at least 6
    /// digits, parts of at least 4 characters that start with a capital, an
    /// index of at most 4 GiB built with a 256 MiB sort buffer.
    pub fn new() -> KnownValuesOptions {
        KnownValuesOptions::default()
    }

    /// The most memory the finished index may hold, in bytes (default
    /// 4 GiB). A build that needs more fails with an error naming the
    /// figure; it never keeps part of the values.
    pub fn max_memory(mut self, bytes: u64) -> KnownValuesOptions {
        self.max_memory = bytes;
        self
    }

    /// How many bytes of keys are sorted in memory at once while the index
    /// is built (default 256 MiB). Each full buffer becomes one compressed
    /// run; the runs are merged at the end. A smaller buffer builds with
    /// less memory and a little more time; it never drops a value.
    pub fn build_buffer(mut self, bytes: u64) -> KnownValuesOptions {
        self.build_buffer = bytes.max(1);
        self
    }

    /// The fewest characters a value must have to be found (default 3).
    pub fn min_chars(mut self, n: usize) -> KnownValuesOptions {
        self.min_chars = n;
        self
    }

    /// The fewest digits a value made only of digits and separators must
    /// have to be found (default 6).
    pub fn min_digits(mut self, n: usize) -> KnownValuesOptions {
        self.min_digits = n;
        self
    }

    /// The fewest characters a part (`match_parts`) must have (default 4).
    pub fn min_part_chars(mut self, n: usize) -> KnownValuesOptions {
        self.min_part_chars = n;
        self
    }

    /// Whether parts are found in any case (default `false`: only where
    /// they start with a capital letter in the text).
    pub fn parts_any_case(mut self, yes: bool) -> KnownValuesOptions {
        self.parts_any_case = yes;
        self
    }

    /// The limit on the index's memory, in bytes.
    pub fn get_max_memory(&self) -> u64 {
        self.max_memory
    }

    pub(crate) fn get_parts_any_case(&self) -> bool {
        self.parts_any_case
    }

    /// What the saved index depends on (everything but the limits, which do
    /// not change its content).
    pub(crate) fn identity(&self) -> String {
        format!(
            "min_chars={} min_digits={} min_part_chars={}",
            self.min_chars, self.min_digits, self.min_part_chars
        )
    }
}
