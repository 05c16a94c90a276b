//! The known-value index saved next to the data, so that a restart reads it
//! instead of rebuilding it.
//!
//! A file holds the index of one policy's columns over one state of the
//! data. Its name comes from the columns and options and from the key
//! (`known-<hash>-<key id>.idx`),
//! its first bytes from the data's identity (each file's path, size,
//! modification time, inode and status-change time, as the engine reports
//! them): when the data changes, the identity changes, the file is stale and
//! is rebuilt in place. The whole file is authenticated with HMAC-SHA256
//! under a key derived from the master key, so a file that was cut short,
//! flipped or written by someone without the key is never used: it is
//! rebuilt, with a warning. The file holds the protected values (as the data
//! does) and is created with mode 0600.

use std::io::Write;
use std::path::{Path, PathBuf};

use fst::Map;
use ring::{digest, hmac};
use serde::{Deserialize, Serialize};

use super::{ColumnSpec, Head, KnownColumn, KnownValues, KnownValuesOptions, Templates};
use crate::error::{Error, ErrorKind};
use crate::tokens::MasterKey;

const MAGIC: &[u8; 16] = b"SQLVEIL-KNOWN-1\n";

/// Where the known-value index is saved, and the key that authenticates it.
///
/// # Example
/// ```
/// use sqlveil::{MasterKey, PolarsEngine, Policy};
/// use sqlveil::detect::{Detector, KnownIndexStore};
///
/// let policy = Policy::from_path("rules/sample.toml")?;
/// let engine = PolarsEngine::open("examples/data", &policy)?;
/// let key = MasterKey::from_bytes(&[7; 32]);
/// let dir = tempfile::tempdir()?;
/// let store = KnownIndexStore::new(dir.path(), &key)?;
///
/// // The first start builds the index and saves it ...
/// let mut d = Detector::new(&policy)?;
/// d.save_known_values(store.clone());
/// let built = d.refresh(&engine)?;
/// assert!(built.saved_to.is_some() && built.loaded_from.is_none());
///
/// // ... the next one reads it.
/// let mut again = Detector::new(&policy)?;
/// again.save_known_values(store);
/// let loaded = again.refresh(&engine)?;
/// assert_eq!(loaded.loaded_from, built.saved_to);
/// assert_eq!(again.find("Is harriet cromusshaw a customer?").len(), 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct KnownIndexStore {
    dir: PathBuf,
    key: hmac::Key,
    /// Names the key in file names (a tag of a constant, not the key), so
    /// that two keys over one folder keep two files.
    key_id: String,
}

impl std::fmt::Debug for KnownIndexStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KnownIndexStore")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

/// Where one set of columns' index is saved for one state of the data: the
/// store, the file and the identity the file must hold.
pub(crate) struct SavedIndex<'s> {
    store: &'s KnownIndexStore,
    path: PathBuf,
    /// What the index is built from (see [`identity`]).
    pub(crate) id: [u8; 32],
}

impl SavedIndex<'_> {
    /// The saved index, when there is one for this identity and it checks;
    /// a warning when a file is there and does not.
    pub(crate) fn load(
        &self,
        specs: &[ColumnSpec],
        opts: &KnownValuesOptions,
        warnings: &mut Vec<String>,
    ) -> Option<KnownValues> {
        match self.store.load(&self.path, &self.id, specs, opts) {
            Ok(kv) => Some(kv),
            Err(Unusable::Missing | Unusable::Stale) => None,
            Err(Unusable::Corrupt(why)) => {
                warnings.push(format!(
                    "the saved known-value index {} was not used: {why}; it is rebuilt",
                    self.path.display()
                ));
                None
            }
        }
    }

    /// Saves `kv` and records in it where and for what; a warning when it
    /// cannot be saved.
    pub(crate) fn save(&self, kv: &mut KnownValues, warnings: &mut Vec<String>) {
        match self.store.save(&self.path, kv, &self.id) {
            Ok(()) => {
                kv.report.saved_to = Some(self.path.clone());
                kv.identity = Some(self.id);
            }
            Err(e) => warnings.push(format!(
                "the known-value index could not be saved ({e}); it is rebuilt at every start"
            )),
        }
    }
}

/// Why a saved index was not used.
pub(crate) enum Unusable {
    /// No file yet.
    Missing,
    /// A file for another state of the data.
    Stale,
    /// A file that fails its check or cannot be read; the reason names no
    /// value.
    Corrupt(String),
}

#[derive(Serialize, Deserialize)]
struct WireReport {
    patterns: usize,
    index_bytes: usize,
    values_bytes: usize,
    columns: Vec<WireColumn>,
}

#[derive(Serialize, Deserialize)]
struct WireColumn {
    values: usize,
    skipped: usize,
    digit_values: usize,
    patterns: usize,
    memory_bytes: usize,
}

impl KnownIndexStore {
    /// Saves indexes in `dir` (created with mode 0700 when it is first
    /// written), authenticated with a key derived from `key`.
    ///
    /// # Errors
    /// The key cannot be derived.
    pub fn new(dir: impl Into<PathBuf>, key: &MasterKey) -> Result<KnownIndexStore, Error> {
        let key = key.hmac_key("known-value index", "v1")?;
        let tag = hmac::sign(&key, b"sqlveil known-value index file name");
        let key_id = data_encoding::HEXLOWER.encode(tag.as_ref().get(..4).unwrap_or(&[]));
        Ok(KnownIndexStore {
            dir: dir.into(),
            key,
            key_id,
        })
    }

    /// The folder the indexes are saved in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the index of `specs` with `opts` is saved for the data whose
    /// identity (as the source gives it) is `data`.
    pub(crate) fn saved_index(
        &self,
        specs: &[ColumnSpec],
        opts: &KnownValuesOptions,
        data: &str,
    ) -> SavedIndex<'_> {
        SavedIndex {
            store: self,
            path: self.path_for(specs, opts),
            id: identity(specs, opts, data),
        }
    }

    /// The file for a set of columns and options.
    pub(crate) fn path_for(&self, specs: &[ColumnSpec], opts: &KnownValuesOptions) -> PathBuf {
        let mut ctx = digest::Context::new(&digest::SHA256);
        ctx.update(b"sqlveil known-value index file\0");
        ctx.update(opts.identity().as_bytes());
        for s in specs {
            ctx.update(b"\0");
            ctx.update(s.identity().as_bytes());
        }
        let d = ctx.finish();
        let name = data_encoding::HEXLOWER.encode(d.as_ref().get(..8).unwrap_or(&[]));
        self.dir.join(format!("known-{name}-{}.idx", self.key_id))
    }

    /// Reads the index saved at `path` for `identity`.
    pub(crate) fn load(
        &self,
        path: &Path,
        identity: &[u8; 32],
        specs: &[ColumnSpec],
        opts: &KnownValuesOptions,
    ) -> Result<KnownValues, Unusable> {
        let body = self.read_verified(path, identity, opts)?;
        parse(&body, path, identity, specs)
    }

    /// The file at `path` without its tag, once its size, its magic and its
    /// tag check and it was written for `identity`. Nothing of it is parsed
    /// before the tag is verified.
    fn read_verified(
        &self,
        path: &Path,
        identity: &[u8; 32],
        opts: &KnownValuesOptions,
    ) -> Result<Vec<u8>, Unusable> {
        let meta = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(Unusable::Missing),
            Err(e) => return Err(Unusable::Corrupt(format!("it cannot be read ({e})"))),
        };
        if meta.len() > opts.get_max_memory().saturating_add(1 << 20) {
            return Err(Unusable::Corrupt(
                "it is larger than the memory limit".into(),
            ));
        }
        let mut bytes = std::fs::read(path)
            .map_err(|e| Unusable::Corrupt(format!("it cannot be read ({e})")))?;
        let body_len = bytes
            .len()
            .checked_sub(32)
            .filter(|&n| n >= MAGIC.len() + 32)
            .ok_or_else(|| Unusable::Corrupt("it is cut short".into()))?;
        let (body, tag) = bytes.split_at(body_len);
        if body.get(..MAGIC.len()) != Some(MAGIC.as_slice()) {
            return Err(Unusable::Corrupt(
                "it is not a known-value index of this version".into(),
            ));
        }
        hmac::verify(&self.key, body, tag).map_err(|_| {
            Unusable::Corrupt(
                "its authentication fails (changed, cut short, or written with another key)".into(),
            )
        })?;
        if body.get(MAGIC.len()..MAGIC.len() + 32) != Some(identity.as_slice()) {
            return Err(Unusable::Stale);
        }
        bytes.truncate(body_len);
        Ok(bytes)
    }

    /// Writes the index to `path` (a new file with mode 0600, renamed over
    /// the old one).
    pub(crate) fn save(
        &self,
        path: &Path,
        kv: &KnownValues,
        identity: &[u8; 32],
    ) -> Result<(), Error> {
        let io = |source| {
            Error::new(ErrorKind::Io {
                path: path.to_path_buf(),
                source,
            })
        };
        let mut body = Vec::new();
        body.extend_from_slice(MAGIC);
        body.extend_from_slice(identity);
        let report = WireReport {
            patterns: kv.report.patterns,
            index_bytes: kv.report.index_bytes,
            values_bytes: kv.report.values_bytes,
            columns: kv
                .report
                .columns
                .iter()
                .map(|c| WireColumn {
                    values: c.values,
                    skipped: c.skipped,
                    digit_values: c.digit_values,
                    patterns: c.patterns,
                    memory_bytes: c.memory_bytes,
                })
                .collect(),
        };
        let json = serde_json::to_vec(&report)
            .map_err(|e| Error::usage(format!("the index report cannot be written: {e}")))?;
        section(&mut body, &json);
        section(
            &mut body,
            kv.text.as_ref().map_or(&[][..], |m| m.as_fst().as_bytes()),
        );
        section(
            &mut body,
            kv.digits
                .as_ref()
                .map_or(&[][..], |m| m.as_fst().as_bytes()),
        );
        let mut templates = Vec::new();
        for t in &kv.templates.list {
            section(&mut templates, t);
        }
        section(&mut body, &templates);
        section(&mut body, &kv.spellings);
        let tag = hmac::sign(&self.key, &body);
        create_dir(&self.dir).map_err(|source| {
            Error::new(ErrorKind::Io {
                path: self.dir.clone(),
                source,
            })
        })?;
        let tmp = path.with_extension(format!("idx.tmp-{}", std::process::id()));
        let _ = std::fs::remove_file(&tmp);
        let mut f = new_private_file(&tmp).map_err(io)?;
        let written = f
            .write_all(&body)
            .and_then(|()| f.write_all(tag.as_ref()))
            .and_then(|()| f.sync_all());
        drop(f);
        if let Err(e) = written.and_then(|()| std::fs::rename(&tmp, path)) {
            let _ = std::fs::remove_file(&tmp);
            return Err(io(e));
        }
        Ok(())
    }
}

/// The index in a verified file's body (after its magic and identity): the
/// report, the two FSTs, the templates and the spellings, each a section.
fn parse(
    body: &[u8],
    path: &Path,
    identity: &[u8; 32],
    specs: &[ColumnSpec],
) -> Result<KnownValues, Unusable> {
    let mut r = Reader {
        bytes: body,
        at: MAGIC.len() + 32,
    };
    let corrupt = |_| Unusable::Corrupt("its sections are malformed".into());
    let report: WireReport = serde_json::from_slice(r.section().map_err(corrupt)?)
        .map_err(|_| Unusable::Corrupt("its report is malformed".into()))?;
    let text = r.section().map_err(corrupt)?;
    let digits = r.section().map_err(corrupt)?;
    let templates = r.section().map_err(corrupt)?;
    let spellings = r.section().map_err(corrupt)?.to_vec();
    if r.at != body.len() || report.columns.len() != specs.len() {
        return Err(Unusable::Corrupt("its sections are malformed".into()));
    }
    let mut list = Vec::new();
    let mut t = Reader {
        bytes: templates,
        at: 0,
    };
    while t.at < templates.len() {
        list.push(Box::from(t.section().map_err(corrupt)?));
    }
    let columns = column_reports(specs, &report);
    let text = fst_map(text)?;
    let digits = fst_map(digits)?;
    Ok(KnownValues {
        heads: [Head::of(text.as_ref()), Head::of(digits.as_ref())],
        text,
        digits,
        templates: Templates::from_list(list),
        spellings,
        columns: specs.iter().map(KnownColumn::of).collect(),
        parts_any_case: false,
        identity: Some(*identity),
        report: super::KnownValuesReport {
            columns,
            patterns: report.patterns,
            index_bytes: report.index_bytes,
            values_bytes: report.values_bytes,
            loaded_from: Some(path.to_path_buf()),
            ..super::KnownValuesReport::default()
        },
    })
}

/// An FST section: none when it is empty.
fn fst_map(b: &[u8]) -> Result<Option<Map<Vec<u8>>>, Unusable> {
    if b.is_empty() {
        return Ok(None);
    }
    Map::new(b.to_vec())
        .map(Some)
        .map_err(|_| Unusable::Corrupt("its index is malformed".into()))
}

/// The saved report of each column, under the column's names.
fn column_reports(specs: &[ColumnSpec], report: &WireReport) -> Vec<super::KnownColumnReport> {
    specs
        .iter()
        .zip(&report.columns)
        .map(|(s, c)| super::KnownColumnReport {
            table: s.table.clone(),
            column: s.column.clone(),
            action: s.action.as_tag(),
            values: c.values,
            skipped: c.skipped,
            digit_values: c.digit_values,
            patterns: c.patterns,
            memory_bytes: c.memory_bytes,
        })
        .collect()
}

/// The digest of what an index is built from: the columns, the options and
/// the data's identity.
pub(crate) fn identity(specs: &[ColumnSpec], opts: &KnownValuesOptions, data: &str) -> [u8; 32] {
    let mut ctx = digest::Context::new(&digest::SHA256);
    ctx.update(b"sqlveil known-value index v1\0");
    ctx.update(opts.identity().as_bytes());
    for s in specs {
        ctx.update(b"\0");
        ctx.update(s.identity().as_bytes());
    }
    ctx.update(b"\0data\0");
    ctx.update(data.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

fn section(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
    out.extend_from_slice(bytes);
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn section(&mut self) -> Result<&'a [u8], ()> {
        let len = self.bytes.get(self.at..self.at + 8).ok_or(())?;
        let mut n = [0u8; 8];
        n.copy_from_slice(len);
        let n = usize::try_from(u64::from_le_bytes(n)).map_err(|_| ())?;
        let from = self.at + 8;
        let to = from.checked_add(n).ok_or(())?;
        let s = self.bytes.get(from..to).ok_or(())?;
        self.at = to;
        Ok(s)
    }
}

#[cfg(unix)]
fn create_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

#[cfg(unix)]
fn new_private_file(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn new_private_file(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
}
