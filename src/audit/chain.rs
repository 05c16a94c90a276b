//! Writing the hash-chained log, from any number of threads and processes.
//!
//! Every append takes an exclusive lock on a sidecar file (`FILE.lock`,
//! which never rotates), reads the chain's tail under it when another writer
//! appended since (or rotated the file), checks that the tail verifies under
//! this writer's key, and only then appends: so many processes make one
//! unbroken chain.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ring::digest;
use serde::Serialize;

use super::key::{key_needed, AuditKey};
use super::record::{AuditEvent, Envelope, LineOut, GENESIS};
use crate::error::{Error, ErrorKind};
use crate::files::{self, FileId};
use crate::tokens::MasterKey;

/// Where audit events go. Implement it to send events elsewhere; a sink that
/// fails makes the request fail, unless the backend decided otherwise (see
/// [`AuditLogBuilder::fail_open`]).
pub trait AuditSink: Send + Sync {
    /// Records one event, durably enough for the sink's promise, before the
    /// request returns.
    ///
    /// # Errors
    /// The event could not be recorded.
    fn record(&self, event: AuditEvent) -> Result<(), Error>;
}

/// When the log calls `fsync`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fsync {
    /// Write and flush every event; leave syncing to the OS.
    Never,
    /// Write, flush and `fsync` every event.
    EveryEvent,
}

/// How a line's hash is computed: HMAC-SHA256 under an audit key, or plain
/// SHA-256 for a log written without a key.
#[derive(Clone)]
pub(crate) enum ChainKey {
    Sha256,
    Hmac(AuditKey),
}

impl ChainKey {
    pub(crate) fn hash(&self, bytes: &[u8]) -> String {
        match self {
            ChainKey::Sha256 => {
                data_encoding::HEXLOWER.encode(digest::digest(&digest::SHA256, bytes).as_ref())
            }
            ChainKey::Hmac(k) => k.sign(bytes),
        }
    }

    pub(crate) fn fingerprint(&self) -> Option<&str> {
        match self {
            ChainKey::Sha256 => None,
            ChainKey::Hmac(k) => Some(k.fingerprint()),
        }
    }
}

/// The bytes after a line's hashed head: `,"hash":"` + 64 hex digits + `"}`.
const TAIL: usize = 9 + 64 + 2;

/// Splits a line into the hashed head and the hash, when the line is exactly
/// `head,"hash":"<64 lowercase hex>"}`: nothing after the hash, so that
/// every byte of a line is covered.
pub(crate) fn split_line(text: &str) -> Option<(&str, &str)> {
    let n = text.len();
    if n <= TAIL || !text.is_char_boundary(n - TAIL) {
        return None;
    }
    let (head, tail) = text.split_at(n - TAIL);
    let hash = tail.strip_prefix(",\"hash\":\"")?.strip_suffix("\"}")?;
    (hash.len() == 64 && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
        .then_some((head, hash))
}

/// Serialises a record as a chained line (without the newline) and its hash.
pub(crate) fn line<T: Serialize>(
    seq: u64,
    prev: &str,
    kind: &str,
    data: &T,
    key: &ChainKey,
) -> Result<(String, String), Error> {
    let body = serde_json::to_string(&LineOut {
        seq,
        prev,
        kind,
        key: key.fingerprint(),
        data,
    })
    .map_err(|e| Error::usage(format!("an audit event cannot be written as JSON: {e}")))?;
    // `body` ends with `}`; the hash covers everything before it.
    let head = &body[..body.len() - 1];
    let hash = key.hash(head.as_bytes());
    Ok((format!("{head},\"hash\":\"{hash}\"}}"), hash))
}

struct State {
    /// The current file, opened for appending, and its identity.
    file: Option<(File, FileId)>,
    /// The file's length after this writer's last append: when it is still
    /// that, no one else appended and the cached link is current.
    known_len: Option<u64>,
    seq: u64,
    prev: String,
}

/// Configures an [`AuditLog`].
#[derive(Debug, Clone)]
pub struct AuditLogBuilder {
    fsync: Fsync,
    max_bytes: Option<u64>,
    fail_open: bool,
}

impl Default for AuditLogBuilder {
    fn default() -> Self {
        AuditLogBuilder::new()
    }
}

impl AuditLogBuilder {
    /// Defaults: flush every event without `fsync`, no rotation, fail closed.
    pub fn new() -> AuditLogBuilder {
        AuditLogBuilder {
            fsync: Fsync::Never,
            max_bytes: None,
            fail_open: false,
        }
    }

    /// Sets the fsync policy.
    pub fn fsync(mut self, f: Fsync) -> AuditLogBuilder {
        self.fsync = f;
        self
    }

    /// Rotates the file when it would grow past `n` bytes: the full file is
    /// renamed `FILE.1`, `FILE.2`, … and a new `FILE` starts, whose first line
    /// links to the last hash of the previous one.
    pub fn max_bytes(mut self, n: u64) -> AuditLogBuilder {
        self.max_bytes = Some(n.max(1));
        self
    }

    /// Lets requests go on when the log cannot be written (the failure is
    /// returned by [`AuditLog::record_or_warn`] instead). Off by default:
    /// without it, a request whose event cannot be written fails.
    pub fn fail_open(mut self, yes: bool) -> AuditLogBuilder {
        self.fail_open = yes;
        self
    }

    /// Opens (or creates, `0600`) the log, chained with HMAC-SHA256 under the
    /// audit key derived from `key`, or with plain SHA-256 without one. See
    /// [`open_with`](Self::open_with) for a separate audit key.
    ///
    /// # Errors
    /// As [`open_with`](Self::open_with).
    pub fn open(&self, path: impl AsRef<Path>, key: Option<&MasterKey>) -> Result<AuditLog, Error> {
        let key = key.map(AuditKey::from_master).transpose()?;
        self.open_with(path, key.as_ref())
    }

    /// Opens (or creates, `0600`) the log chained under `key` (plain SHA-256
    /// without one), continuing the chain of an existing file.
    ///
    /// # Errors
    /// The file or its lock cannot be opened; the log's last line is not a
    /// whole chained line, does not verify, or was written under another key
    /// (or without one, for a keyed writer, or with one, for an unkeyed
    /// writer): a writer never continues a chain it could not verify.
    pub fn open_with(
        &self,
        path: impl AsRef<Path>,
        key: Option<&AuditKey>,
    ) -> Result<AuditLog, Error> {
        let path = path.as_ref().to_path_buf();
        let mut lock_path = path.as_os_str().to_owned();
        lock_path.push(".lock");
        let lock_path = PathBuf::from(lock_path);
        let lock_file = files::open_read_append(&lock_path).map_err(|e| io_err(&lock_path, e))?;
        let log = AuditLog {
            path,
            lock_file,
            key: match key {
                Some(k) => ChainKey::Hmac(k.clone()),
                None => ChainKey::Sha256,
            },
            state: Mutex::new(State {
                file: None,
                known_len: None,
                seq: 0,
                prev: GENESIS.to_string(),
            }),
            fsync: self.fsync,
            max_bytes: self.max_bytes,
            fail_open: self.fail_open,
        };
        // Check the tail now, so that a wrong key fails at start-up.
        {
            let mut st = log.lock_state();
            let _held = files::Exclusive::lock(&log.lock_file)
                .map_err(|e| io_err(&log.lock_file_path(), e))?;
            log.sync(&mut st)?;
        }
        Ok(log)
    }
}

fn io_err(path: &Path, source: std::io::Error) -> Error {
    Error::new(ErrorKind::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn audit_err(path: &Path, message: impl Into<String>) -> Error {
    Error::new(ErrorKind::Audit {
        path: path.to_path_buf(),
        message: message.into(),
    })
}

/// `FILE.1`, `FILE.2`, … that exist, oldest first.
pub(crate) fn rotated_files(path: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for i in 1.. {
        let mut p = path.as_os_str().to_owned();
        p.push(format!(".{i}"));
        let p = PathBuf::from(p);
        if !p.exists() {
            break;
        }
        out.push(p);
    }
    out
}

/// The last line of a file (without its newline), `None` for an empty file.
fn last_line(p: &Path) -> Result<Option<String>, Error> {
    let mut f = match File::open(p) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err(p, e)),
    };
    let len = f.metadata().map_err(|e| io_err(p, e))?.len();
    if len == 0 {
        return Ok(None);
    }
    let mut back = 8192u64.min(len);
    loop {
        f.seek(SeekFrom::Start(len - back))
            .map_err(|e| io_err(p, e))?;
        let mut buf = Vec::new();
        (&mut f)
            .take(back)
            .read_to_end(&mut buf)
            .map_err(|e| io_err(p, e))?;
        if buf.last() != Some(&b'\n') {
            return Err(audit_err(
                p,
                "its last line is incomplete (a write was cut off): the chain cannot be continued; run `sqlveil audit verify` and move the file aside",
            ));
        }
        let body = &buf[..buf.len() - 1];
        match body.iter().rposition(|&b| b == b'\n') {
            Some(i) => return Ok(Some(String::from_utf8_lossy(&body[i + 1..]).into_owned())),
            None if back == len => return Ok(Some(String::from_utf8_lossy(body).into_owned())),
            None => back = (back * 4).min(len),
        }
    }
}

/// A hash-chained JSON Lines audit log. Many threads and many processes may
/// record at once: each line is written whole, in sequence order, under a
/// lock on `FILE.lock`, and flushed before `record` returns. Files are
/// created `0600`.
///
/// # Example
/// ```
/// use sqlveil::audit::{AuditEvent, AuditLogBuilder, AuditSink, Decision, verify};
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("audit.jsonl");
/// let log = AuditLogBuilder::new().open(&path, None)?;
/// log.record(AuditEvent { kind: "query".into(), decision: Some(Decision::Allowed), ..Default::default() })?;
/// assert!(verify(&[path], None)?.is_intact());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct AuditLog {
    path: PathBuf,
    lock_file: File,
    key: ChainKey,
    state: Mutex<State>,
    fsync: Fsync,
    max_bytes: Option<u64>,
    fail_open: bool,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog")
            .field("path", &self.path)
            .field("key", &self.key.fingerprint())
            .finish_non_exhaustive()
    }
}

impl AuditLog {
    /// The log's current file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The fingerprint of the key the log is chained under, `None` for an
    /// unkeyed log.
    pub fn key_fingerprint(&self) -> Option<&str> {
        self.key.fingerprint()
    }

    /// Records an event; with [`AuditLogBuilder::fail_open`], a failure is
    /// returned as `Some` instead of failing.
    ///
    /// # Errors
    /// The event cannot be written, without `fail_open`.
    pub fn record_or_warn(&self, mut event: AuditEvent) -> Result<Option<Error>, Error> {
        if event.time.is_empty() {
            event.time = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        }
        match self.append("request", &event) {
            Ok(()) => Ok(None),
            Err(e) if self.fail_open => Ok(Some(e)),
            Err(e) => Err(e),
        }
    }

    fn lock_file_path(&self) -> PathBuf {
        let mut p = self.path.as_os_str().to_owned();
        p.push(".lock");
        PathBuf::from(p)
    }

    fn lock_state(&self) -> std::sync::MutexGuard<'_, State> {
        match self.state.lock() {
            Ok(s) => s,
            Err(p) => p.into_inner(),
        }
    }

    /// Under the file lock: makes sure the lock is still the log's lock, the
    /// handle is on the current file and the cached link is the chain's real
    /// tail. Returns the file's length.
    fn sync(&self, st: &mut State) -> Result<u64, Error> {
        // A lock file removed or replaced would let two writers in at once.
        let lock_path = self.lock_file_path();
        let held = FileId::of(
            &self
                .lock_file
                .metadata()
                .map_err(|e| io_err(&lock_path, e))?,
        );
        match std::fs::metadata(&lock_path) {
            Ok(m) if FileId::of(&m) == held => {}
            _ => {
                return Err(audit_err(
                    &self.path,
                    format!(
                        "its lock file {} was removed or replaced while the log was open: reopen the log",
                        lock_path.display()
                    ),
                ))
            }
        }
        let current = match std::fs::metadata(&self.path) {
            Ok(m) => Some(FileId::of(&m)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(io_err(&self.path, e)),
        };
        if current.is_none() || st.file.as_ref().map(|f| f.1) != current {
            let f = files::private_options()
                .append(true)
                .create(true)
                .open(&self.path)
                .map_err(|e| io_err(&self.path, e))?;
            let id = FileId::of(&f.metadata().map_err(|e| io_err(&self.path, e))?);
            st.file = Some((f, id));
            st.known_len = None;
        }
        let Some((f, _)) = &st.file else {
            return Err(audit_err(&self.path, "cannot be opened"));
        };
        let len = f.metadata().map_err(|e| io_err(&self.path, e))?.len();
        if st.known_len != Some(len) {
            let (seq, prev) = self.tail()?;
            // The chain only grows: a shorter one was cut or replaced (lines
            // deleted, the file removed) since this writer last saw it.
            if seq < st.seq {
                return Err(audit_err(
                    &self.path,
                    format!(
                        "was cut or replaced while open: its chain ends at seq {seq}, but this process saw seq {} already; run `sqlveil audit verify`",
                        st.seq
                    ),
                ));
            }
            st.seq = seq;
            st.prev = prev;
            st.known_len = Some(len);
        }
        Ok(len)
    }

    /// The next sequence number and the hash to link to: the last line of
    /// the newest non-empty file (the current one, else the rotated ones),
    /// checked to verify under this writer's key.
    fn tail(&self) -> Result<(u64, String), Error> {
        let mut candidates = vec![self.path.clone()];
        let mut rotated = rotated_files(&self.path);
        rotated.reverse();
        candidates.extend(rotated);
        for p in candidates {
            let Some(l) = last_line(&p)? else {
                continue;
            };
            let rec: Envelope = serde_json::from_str(&l).map_err(|_| {
                audit_err(
                    &p,
                    "its last line is not an audit record: the chain cannot be continued; run `sqlveil audit verify`",
                )
            })?;
            match (rec.key.as_deref(), self.key.fingerprint()) {
                (Some(theirs), None) => {
                    return Err(key_needed(format!(
                        "audit log {} is keyed (key {theirs}): give its key (--audit-key-file or SQLVEIL_AUDIT_KEY, or the master key with --key-file or SQLVEIL_KEY)",
                        p.display()
                    )))
                }
                (Some(theirs), Some(ours)) if theirs != ours => {
                    return Err(key_needed(format!(
                        "audit log {} is keyed with another key (key {theirs}, this process has {ours}): give that key, or start a new log",
                        p.display()
                    )))
                }
                (None, Some(_)) => {
                    return Err(key_needed(format!(
                        "audit log {} was written without a key: a process with a key does not continue it; start a new log",
                        p.display()
                    )))
                }
                _ => {}
            }
            let ok = split_line(&l).is_some_and(|(head, hash)| {
                hash == rec.hash && self.key.hash(head.as_bytes()) == hash
            });
            if !ok {
                return Err(audit_err(
                    &p,
                    "its last line does not verify (the file was altered): the chain cannot be continued; run `sqlveil audit verify`",
                ));
            }
            return Ok((rec.seq + 1, rec.hash));
        }
        Ok((0, GENESIS.to_string()))
    }

    /// Appends one record of type `kind` (`request`; a new record type is a
    /// new `kind` with its own `data`), chained after the current tail.
    fn append<T: Serialize>(&self, kind: &str, data: &T) -> Result<(), Error> {
        let mut st = self.lock_state();
        let _held = files::Exclusive::lock(&self.lock_file)
            .map_err(|e| io_err(&self.lock_file_path(), e))?;
        let mut len = self.sync(&mut st)?;
        let (mut text, hash) = line(st.seq, &st.prev, kind, data, &self.key)?;
        text.push('\n');
        if let Some(max) = self.max_bytes {
            if len > 0 && len + text.len() as u64 > max {
                let n = rotated_files(&self.path).len() + 1;
                let mut to = self.path.as_os_str().to_owned();
                to.push(format!(".{n}"));
                std::fs::rename(&self.path, PathBuf::from(to))
                    .map_err(|e| io_err(&self.path, e))?;
                st.file = None;
                len = self.sync(&mut st)?;
            }
        }
        let Some((f, _)) = st.file.as_mut() else {
            return Err(audit_err(&self.path, "cannot be opened"));
        };
        f.write_all(text.as_bytes())
            .and_then(|()| f.flush())
            .map_err(|e| io_err(&self.path, e))?;
        if self.fsync == Fsync::EveryEvent {
            f.sync_data().map_err(|e| io_err(&self.path, e))?;
        }
        st.known_len = Some(len + text.len() as u64);
        st.seq += 1;
        st.prev = hash;
        Ok(())
    }
}

impl AuditSink for AuditLog {
    fn record(&self, event: AuditEvent) -> Result<(), Error> {
        self.record_or_warn(event).map(|_| ())
    }
}
