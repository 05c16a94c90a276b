//! Sorting keys into front-coded runs on other threads, and merging the
//! runs into an FST.

use std::sync::RwLock;

use fst::{Map, MapBuilder};

use super::value::{prio_of, stored, Templates};
use crate::error::Error;

/// Keys waiting to be sorted into a run.
#[derive(Default)]
pub(super) struct Buffer {
    pub(super) bytes: Vec<u8>,
    /// (the key's first 8 bytes big-endian, offset, length, value): most
    /// comparisons of a sort end at the first number, in cache.
    pub(super) items: Vec<(u64, usize, u32, u64)>,
}

impl Buffer {
    pub(super) fn memory(&self) -> u64 {
        (self.bytes.capacity() + self.items.capacity() * 32) as u64
    }
}

/// A key's first 8 bytes as a number that sorts as the key does (keys hold
/// no zero byte: control characters are white space).
pub(super) fn prefix8(key: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    let n = key.len().min(8);
    b[..n].copy_from_slice(&key[..n]);
    u64::from_be_bytes(b)
}

/// One of the two FSTs being built: the current buffer, the run being
/// sorted on another thread, and finished runs.
#[derive(Default)]
pub(super) struct Side {
    pub(super) buffer: Buffer,
    pub(super) sorting: Option<std::thread::JoinHandle<Result<Run, Error>>>,
    pub(super) runs: Vec<Run>,
}

impl Side {
    /// Waits for the run being sorted, if any.
    pub(super) fn join(&mut self) -> Result<(), Error> {
        if let Some(h) = self.sorting.take() {
            let run = h
                .join()
                .map_err(|_| Error::usage("a thread building the known-value index failed"))??;
            self.runs.push(run);
        }
        Ok(())
    }

    pub(super) fn runs_bytes(&self) -> usize {
        self.runs.iter().map(|r| r.bytes.len()).sum()
    }
}

/// A sorted run of keys, one value per key, front-coded: each entry is the
/// length of the prefix it shares with the key before it, the length of the
/// rest and the rest (LEB128 numbers), then its value (8 bytes). Sorted
/// keys share long prefixes, so a run takes about the key bytes the keys
/// do not share; the runs are merged into the index's one FST at the end,
/// so every key is compiled into an FST once.
#[derive(Default)]
pub(super) struct Run {
    bytes: Vec<u8>,
}

impl Run {
    fn push(&mut self, prev: &[u8], key: &[u8], value: u64) {
        let shared = prev.iter().zip(key).take_while(|(a, b)| a == b).count();
        let rest = key.get(shared..).unwrap_or_default();
        leb128(&mut self.bytes, shared as u64);
        leb128(&mut self.bytes, rest.len() as u64);
        self.bytes.extend_from_slice(rest);
        self.bytes.extend_from_slice(&value.to_le_bytes());
    }
}

fn leb128(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

/// Reads a run's entries in order.
struct RunReader<'r> {
    bytes: &'r [u8],
    at: usize,
    key: Vec<u8>,
    value: u64,
}

impl<'r> RunReader<'r> {
    fn new(run: &'r Run) -> RunReader<'r> {
        RunReader {
            bytes: &run.bytes,
            at: 0,
            key: Vec::with_capacity(64),
            value: 0,
        }
    }

    fn number(&mut self) -> Option<u64> {
        let mut v: u64 = 0;
        let mut shift = 0;
        loop {
            let b = *self.bytes.get(self.at)?;
            self.at += 1;
            v |= u64::from(b & 0x7f).checked_shl(shift)?;
            if b & 0x80 == 0 {
                return Some(v);
            }
            shift += 7;
        }
    }

    /// Moves to the next entry: false at the end. A run is written by this
    /// module; one that does not decode is an error, never a shorter index.
    fn next(&mut self) -> Result<bool, Error> {
        if self.at >= self.bytes.len() {
            return Ok(false);
        }
        let broken = || Error::usage("a sorted run of the known-value index does not decode");
        let shared = usize::try_from(self.number().ok_or_else(broken)?).map_err(|_| broken())?;
        let len = usize::try_from(self.number().ok_or_else(broken)?).map_err(|_| broken())?;
        let rest = self
            .bytes
            .get(self.at..self.at.saturating_add(len))
            .ok_or_else(broken)?;
        if shared > self.key.len() {
            return Err(broken());
        }
        self.key.truncate(shared);
        self.key.extend_from_slice(rest);
        self.at += len;
        let v = self
            .bytes
            .get(self.at..self.at + 8)
            .and_then(|b| <[u8; 8]>::try_from(b).ok())
            .ok_or_else(broken)?;
        self.value = u64::from_le_bytes(v);
        self.at += 8;
        Ok(true)
    }
}

/// The stored spellings and digit templates, shared with the threads that
/// sort runs (which read them only to break a tie between two columns'
/// values of one key).
#[derive(Default)]
pub(super) struct Store {
    pub(super) templates: Templates,
    pub(super) spellings: Vec<u8>,
}

pub(super) fn poisoned() -> Error {
    Error::usage("a thread building the known-value index failed")
}

/// Of two values for one key: the higher priority, then the smaller stored
/// spelling, then the smaller value (so that neither the load order nor the
/// runs decide: one spelling stored twice is two values).
fn better(store: &RwLock<Store>, key: &[u8], a: u64, b: u64) -> Result<u64, Error> {
    Ok(match prio_of(a).cmp(&prio_of(b)) {
        std::cmp::Ordering::Greater => a,
        std::cmp::Ordering::Less => b,
        std::cmp::Ordering::Equal => {
            let st = store.read().map_err(|_| poisoned())?;
            let sa = stored(key, a, &st.templates, &st.spellings);
            let sb = stored(key, b, &st.templates, &st.spellings);
            match sb.cmp(&sa) {
                std::cmp::Ordering::Less => b,
                std::cmp::Ordering::Greater => a,
                std::cmp::Ordering::Equal => a.min(b),
            }
        }
    })
}

/// Sorts a buffer into a run, one value per key.
pub(super) fn sort_run(mut buffer: Buffer, store: &RwLock<Store>) -> Result<Run, Error> {
    let bytes = &buffer.bytes;
    let key_of = |&(_, o, l, _): &(u64, usize, u32, u64)| -> &[u8] {
        bytes.get(o..o + l as usize).unwrap_or(&[])
    };
    buffer
        .items
        .sort_unstable_by(|a, b| a.0.cmp(&b.0).then_with(|| key_of(a).cmp(key_of(b))));
    let mut run = Run {
        bytes: Vec::with_capacity(bytes.len() + buffer.items.len() * 10),
    };
    let mut prev: &[u8] = &[];
    let mut i = 0;
    let items = &buffer.items;
    while let Some(first) = items.get(i) {
        let k = key_of(first);
        let mut best = first.3;
        let mut j = i + 1;
        while let Some(next) = items.get(j).filter(|n| key_of(n) == k) {
            best = better(store, k, best, next.3)?;
            j += 1;
        }
        run.push(prev, k, best);
        prev = k;
        i = j;
    }
    run.bytes.shrink_to_fit();
    Ok(run)
}

/// Merges sorted runs into one FST: the smallest key of all runs at each
/// step, one value per key (the better of the runs' values).
pub(super) fn merge_runs(
    runs: Vec<Run>,
    store: &RwLock<Store>,
    limit: u64,
) -> Result<Option<Map<Vec<u8>>>, Error> {
    if runs.is_empty() {
        return Ok(None);
    }
    let mut readers: Vec<RunReader<'_>> = Vec::with_capacity(runs.len());
    for r in &runs {
        let mut rd = RunReader::new(r);
        if rd.next()? {
            readers.push(rd);
        }
    }
    let mut mb = MapBuilder::memory();
    let mut key: Vec<u8> = Vec::with_capacity(64);
    while !readers.is_empty() {
        // The runs are few (the values over the sort buffer): a scan for
        // the smallest key costs less than keeping a heap of them.
        let mut min = 0;
        for (i, r) in readers.iter().enumerate().skip(1) {
            if readers.get(min).is_some_and(|m| r.key < m.key) {
                min = i;
            }
        }
        key.clear();
        let Some(m) = readers.get(min) else { break };
        key.extend_from_slice(&m.key);
        let mut best: Option<u64> = None;
        let mut i = 0;
        while let Some(r) = readers.get_mut(i) {
            if r.key == key {
                best = Some(match best {
                    None => r.value,
                    Some(b) => better(store, &key, b, r.value)?,
                });
                if !r.next()? {
                    readers.swap_remove(i);
                    continue;
                }
            }
            i += 1;
        }
        if let Some(b) = best {
            mb.insert(&key, b).map_err(fst_error)?;
        }
        if mb.bytes_written() > limit {
            return Err(too_big(mb.bytes_written(), limit));
        }
    }
    drop(runs);
    Ok(Some(mb.into_map()))
}

pub(super) fn too_big(what: u64, limit: u64) -> Error {
    Error::usage(format!(
        "the known values need more than {} MiB ({} MiB so far), above the memory limit; raise KnownValuesOptions::max_memory or set detect_values = false on the largest columns",
        limit >> 20,
        what >> 20
    ))
}

fn fst_error(e: fst::Error) -> Error {
    Error::usage(format!("the known-value index cannot be built: {e}"))
}

#[cfg(test)]
mod tests {
    use super::super::testing::{hits, person, spec};
    use super::super::{ColumnSpec, KnownValues, KnownValuesOptions};
    use crate::rules::{Action, Mask};
    use fst::Map;

    #[test]
    fn many_values_in_many_runs_are_each_found() {
        let values: Vec<String> = (0..5000)
            .map(|i| format!("Quorndale-{}", "x".repeat(i % 7) + &i.to_string()))
            .collect();
        let refs: Vec<&str> = values.iter().map(String::as_str).collect();
        let o = KnownValuesOptions::new().build_buffer(4096);
        let kv = KnownValues::from_values(&[spec(person(), false)], &[&refs], &o).unwrap();
        for (i, v) in values.iter().enumerate() {
            let text = format!("then {v}, and quorndale-nothing");
            assert_eq!(hits(&kv, &text), [format!("{v}={v}")], "value {i}");
        }
        assert!(hits(&kv, &"Quorndal ".repeat(200)).is_empty());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        /// However many runs the values are sorted into, the index is the
        /// same: every key, and for a key several values share (across
        /// columns, spellings and runs) the same winner.
        #[test]
        fn the_index_does_not_depend_on_the_runs(
            cols in proptest::collection::vec(
                proptest::collection::vec("[A-Ca-c]{1,3}( [a-cA-C]{2,4})?|\\+?[0-2]{6,9}|0[0-2 -]{6,9}", 0..120),
                1..4,
            ),
            buffer in 64u64..4096,
        ) {
            let specs: Vec<ColumnSpec> = cols
                .iter()
                .enumerate()
                .map(|(i, _)| {
                    let action = match i {
                        0 => person(),
                        1 => Action::Deny,
                        _ => Action::Mask(Mask::new(crate::rules::MaskKind::Email)),
                    };
                    spec(action, i == 0)
                })
                .collect();
            let refs: Vec<Vec<&str>> =
                cols.iter().map(|c| c.iter().map(String::as_str).collect()).collect();
            let lists: Vec<&[&str]> = refs.iter().map(Vec::as_slice).collect();
            let one = KnownValues::from_values(&specs, &lists, &KnownValuesOptions::new()).unwrap();
            let o = KnownValuesOptions::new().build_buffer(buffer);
            let many = KnownValues::from_values(&specs, &lists, &o).unwrap();
            let bytes = |m: &Option<Map<Vec<u8>>>| m.as_ref().map(|m| m.as_fst().as_bytes().to_vec());
            proptest::prop_assert_eq!(bytes(&one.text), bytes(&many.text));
            proptest::prop_assert_eq!(bytes(&one.digits), bytes(&many.digits));
            proptest::prop_assert_eq!(&one.spellings, &many.spellings);
        }
    }

    #[test]
    fn strictest_column_wins_a_shared_text() {
        let specs = [
            spec(person(), false),
            ColumnSpec {
                column: "street".into(),
                ..spec(Action::Deny, false)
            },
        ];
        for buffer in [1, 1 << 20] {
            let o = KnownValuesOptions::default().build_buffer(buffer);
            let kv =
                KnownValues::from_values(&specs, &[&["Elm Court"], &["elm court"]], &o).unwrap();
            let mut out = Vec::new();
            kv.find("at Elm Court", &mut out);
            assert_eq!(out.len(), 1);
            assert_eq!(out[0].column.class, "redacted");
        }
    }
}
