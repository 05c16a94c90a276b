//! Writing the hash-chained log.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ring::{digest, hmac};

use super::record::{AuditEvent, LineIn, LineOut, GENESIS};
use crate::error::{Error, ErrorKind};
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

/// How a line's hash is computed.
#[derive(Clone)]
pub(crate) enum ChainKey {
    Sha256,
    Hmac(hmac::Key),
}

impl ChainKey {
    pub(crate) fn hash(&self, bytes: &[u8]) -> String {
        match self {
            ChainKey::Sha256 => {
                data_encoding::HEXLOWER.encode(digest::digest(&digest::SHA256, bytes).as_ref())
            }
            ChainKey::Hmac(k) => data_encoding::HEXLOWER.encode(hmac::sign(k, bytes).as_ref()),
        }
    }

    pub(crate) fn from_key(key: Option<&MasterKey>) -> Result<ChainKey, Error> {
        Ok(match key {
            Some(k) => ChainKey::Hmac(k.hmac_key("audit-chain", "")?),
            None => ChainKey::Sha256,
        })
    }
}

/// Serialises an event as a chained line (without the newline) and its hash.
pub(crate) fn line(
    seq: u64,
    prev: &str,
    event: &AuditEvent,
    key: &ChainKey,
) -> Result<(String, String), Error> {
    let body = serde_json::to_string(&LineOut {
        seq,
        prev,
        kind: "request",
        data: event,
    })
    .map_err(|e| Error::usage(format!("an audit event cannot be written as JSON: {e}")))?;
    // `body` ends with `}`; the hash covers everything before it.
    let head = &body[..body.len() - 1];
    let hash = key.hash(head.as_bytes());
    Ok((format!("{head},\"hash\":\"{hash}\"}}"), hash))
}

struct State {
    file: File,
    seq: u64,
    prev: String,
    bytes: u64,
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
    pub fn fsync(&mut self, f: Fsync) -> &mut AuditLogBuilder {
        self.fsync = f;
        self
    }

    /// Rotates the file when it would grow past `n` bytes: the full file is
    /// renamed `FILE.1`, `FILE.2`, … and a new `FILE` starts, whose first line
    /// links to the last hash of the previous one.
    pub fn max_bytes(&mut self, n: u64) -> &mut AuditLogBuilder {
        self.max_bytes = Some(n.max(1));
        self
    }

    /// Lets requests go on when the log cannot be written (the failure is
    /// returned by [`AuditLog::record_or_warn`] instead). Off by default:
    /// without it, a request whose event cannot be written fails.
    pub fn fail_open(&mut self, yes: bool) -> &mut AuditLogBuilder {
        self.fail_open = yes;
        self
    }

    /// Opens (or creates) the log, continuing the chain of an existing file.
    /// The chain is HMAC-SHA256 under a key derived from `key` when one is
    /// given, plain SHA-256 otherwise.
    ///
    /// # Errors
    /// The file cannot be opened, or its last line is not a chained line.
    pub fn open(&self, path: impl AsRef<Path>, key: Option<&MasterKey>) -> Result<AuditLog, Error> {
        let path = path.as_ref().to_path_buf();
        let (seq, prev) = last_link(&path)?;
        let file = open_append(&path)?;
        let bytes = file.metadata().map(|m| m.len()).unwrap_or(0);
        Ok(AuditLog {
            path,
            key: ChainKey::from_key(key)?,
            state: Mutex::new(State {
                file,
                seq,
                prev,
                bytes,
            }),
            fsync: self.fsync,
            max_bytes: self.max_bytes,
            fail_open: self.fail_open,
        })
    }
}

fn io_err(path: &Path, source: std::io::Error) -> Error {
    Error::new(ErrorKind::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn open_append(path: &Path) -> Result<File, Error> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| io_err(path, e))
}

/// The next sequence number and the hash to link to, from the newest file of
/// a log (rotated files first, when the current one is empty).
fn last_link(path: &Path) -> Result<(u64, String), Error> {
    let mut candidates = vec![path.to_path_buf()];
    let mut rotated = rotated_files(path);
    rotated.reverse();
    candidates.extend(rotated);
    for p in candidates {
        if !p.exists() {
            continue;
        }
        let f = File::open(&p).map_err(|e| io_err(&p, e))?;
        let mut last = None;
        for l in BufReader::new(f).lines() {
            let l = l.map_err(|e| io_err(&p, e))?;
            if !l.trim().is_empty() {
                last = Some(l);
            }
        }
        if let Some(l) = last {
            let rec: LineIn = serde_json::from_str(&l).map_err(|_| {
                Error::usage(format!(
                    "audit log {}: the last line is not an audit record; the chain cannot be continued",
                    p.display()
                ))
            })?;
            return Ok((rec.seq + 1, rec.hash));
        }
    }
    Ok((0, GENESIS.to_string()))
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

/// A hash-chained JSON Lines audit log. Many threads may record at once: each
/// line is written whole, in sequence order, and flushed before `record`
/// returns.
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
            .finish_non_exhaustive()
    }
}

impl AuditLog {
    /// The log's current file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Records an event; with [`AuditLogBuilder::fail_open`], a failure is
    /// returned as `Some` instead of failing.
    pub fn record_or_warn(&self, event: AuditEvent) -> Result<Option<Error>, Error> {
        match self.write(event) {
            Ok(()) => Ok(None),
            Err(e) if self.fail_open => Ok(Some(e)),
            Err(e) => Err(e),
        }
    }

    fn write(&self, mut event: AuditEvent) -> Result<(), Error> {
        if event.time.is_empty() {
            event.time = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        }
        let mut st = match self.state.lock() {
            Ok(s) => s,
            Err(p) => p.into_inner(),
        };
        let (mut text, hash) = line(st.seq, &st.prev, &event, &self.key)?;
        text.push('\n');
        if let Some(max) = self.max_bytes {
            if st.bytes > 0 && st.bytes + text.len() as u64 > max {
                let n = rotated_files(&self.path).len() + 1;
                let mut to = self.path.as_os_str().to_owned();
                to.push(format!(".{n}"));
                std::fs::rename(&self.path, PathBuf::from(to))
                    .map_err(|e| io_err(&self.path, e))?;
                st.file = open_append(&self.path)?;
                st.bytes = 0;
            }
        }
        st.file
            .write_all(text.as_bytes())
            .and_then(|()| st.file.flush())
            .map_err(|e| io_err(&self.path, e))?;
        if self.fsync == Fsync::EveryEvent {
            st.file.sync_data().map_err(|e| io_err(&self.path, e))?;
        }
        st.seq += 1;
        st.prev = hash;
        st.bytes += text.len() as u64;
        Ok(())
    }
}

impl AuditSink for AuditLog {
    fn record(&self, event: AuditEvent) -> Result<(), Error> {
        self.record_or_warn(event).map(|_| ())
    }
}
