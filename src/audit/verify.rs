//! Reading the log back: chain verification and summaries.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::chain::{split_line, ChainKey};
use super::key::AuditKey;
use super::record::{AuditEvent, Decision, Envelope, Typed, GENESIS};
use crate::error::{Error, ErrorKind};
use crate::tokens::MasterKey;

/// What is wrong at the first broken line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Break {
    /// The line is not a chained record (torn, truncated, not JSON, or with
    /// bytes after its hash).
    Malformed,
    /// The line's content does not match its hash: it was edited (or forged
    /// with a hash the verifier's key does not make).
    Edited,
    /// Lines are missing before this one.
    Removed,
    /// This line is out of order, or was inserted.
    Reordered,
    /// The last line is not the expected head: the tail was cut.
    Truncated,
    /// The first line is not the log's first (`seq` 0 linked to the genesis
    /// value), or does not link to the start hash given: earlier lines or
    /// files are missing.
    Unanchored,
    /// The line is keyed and no key was given: not a sign of tampering;
    /// verify with the key.
    KeyNeeded,
    /// The line was written under a different key (its fingerprint is not the
    /// given key's): the wrong key was given, or the line was forged under
    /// another key.
    OtherKey,
    /// The line carries no key in a log verified with one: it was written by
    /// a process without the key, or forged.
    Unkeyed,
}

impl Break {
    /// What the break means, in one sentence.
    pub fn describe(self) -> &'static str {
        match self {
            Break::Malformed => "the line is not a whole audit record (torn, cut, not JSON, or with bytes after its hash)",
            Break::Edited => "the line does not match its hash: it was edited, or forged",
            Break::Removed => "lines are missing before this line",
            Break::Reordered => "the line is out of order, or was inserted",
            Break::Truncated => "the last line is not the expected head: the tail of the log was cut",
            Break::Unanchored => "the log does not start at its first line (seq 0) or at the start hash given: earlier lines or files are missing; give every file, oldest first, or --start HASH",
            Break::KeyNeeded => "this log is keyed; give the key (--audit-key-file or SQLVEIL_AUDIT_KEY, or the master key with --key-file or SQLVEIL_KEY)",
            Break::OtherKey => "the line was written under a different key than the one given",
            Break::Unkeyed => "the line carries no key although the log is verified with one: it was written without the key, or forged",
        }
    }
}

/// The result of verifying a log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Verification {
    /// Lines read.
    pub lines: u64,
    /// The last line's hash: keep it elsewhere to detect a cut tail later.
    pub head: String,
    /// The fingerprint of the key the log's lines carry, if any.
    pub key: Option<String>,
    /// The first break, if any: (file, 1-based line, what).
    pub broken: Option<(PathBuf, u64, Break)>,
}

impl Verification {
    /// Whether the chain holds.
    pub fn is_intact(&self) -> bool {
        self.broken.is_none()
    }
}

fn io_err(path: &Path, source: std::io::Error) -> Error {
    Error::new(ErrorKind::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// How to verify a log: the key (none for a log written without one), where
/// the chain starts, and the expected head.
///
/// # Example
/// ```
/// use sqlveil::audit::{AuditEvent, AuditKey, AuditLogBuilder, AuditSink, Break, verify_with, VerifyOptions};
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("audit.jsonl");
/// let key = AuditKey::from_bytes(&[9; 32]);
/// let log = AuditLogBuilder::new().open_with(&path, Some(&key))?;
/// log.record(AuditEvent { kind: "query".into(), ..Default::default() })?;
/// let files = [path];
/// assert!(verify_with(&files, &VerifyOptions::new().key(key))?.is_intact());
/// // Without the key, a keyed log is not passed: the verifier is told why.
/// let v = verify_with(&files, &VerifyOptions::new())?;
/// assert_eq!(v.broken.map(|b| b.2), Some(Break::KeyNeeded));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    key: Option<AuditKey>,
    start: Option<String>,
    head: Option<String>,
}

impl VerifyOptions {
    /// Verify as a log written without a key (plain SHA-256), from its first
    /// line, with no expected head.
    pub fn new() -> VerifyOptions {
        VerifyOptions::default()
    }

    /// The audit key the log is chained under.
    pub fn key(mut self, key: AuditKey) -> VerifyOptions {
        self.key = Some(key);
        self
    }

    /// The hash of the line before the first given line, kept from an
    /// earlier verification, for a log whose older files are archived
    /// elsewhere. Without it, the first line must be the log's first.
    pub fn start(mut self, hash: impl Into<String>) -> VerifyOptions {
        self.start = Some(hash.into());
        self
    }

    /// The expected hash of the last line, kept outside the log: detects a
    /// tail cut at a line boundary.
    pub fn head(mut self, hash: impl Into<String>) -> VerifyOptions {
        self.head = Some(hash.into());
        self
    }
}

/// Verifies a log given as its files in order (rotated files first), from
/// its first line. With a key, lines must carry HMACs under the audit key
/// derived from it; without, plain SHA-256, and a keyed line is reported as
/// [`Break::KeyNeeded`].
///
/// # Errors
/// A file cannot be read.
pub fn verify(files: &[PathBuf], key: Option<&MasterKey>) -> Result<Verification, Error> {
    verify_head(files, key, None)
}

/// As [`verify`], also checking that the last line's hash is `head` (an
/// anchor kept outside the log), which detects a tail cut at a line boundary.
///
/// # Errors
/// A file cannot be read.
pub fn verify_head(
    files: &[PathBuf],
    key: Option<&MasterKey>,
    head: Option<&str>,
) -> Result<Verification, Error> {
    let mut o = VerifyOptions::new();
    if let Some(k) = key {
        o = o.key(AuditKey::from_master(k)?);
    }
    if let Some(h) = head {
        o = o.head(h);
    }
    verify_with(files, &o)
}

/// Verifies a log given as its files in order (rotated files first), as
/// `options` say. The first break is reported, with the file and line.
///
/// # Errors
/// A file cannot be read.
pub fn verify_with(files: &[PathBuf], options: &VerifyOptions) -> Result<Verification, Error> {
    let chain = match &options.key {
        Some(k) => ChainKey::Hmac(k.clone()),
        None => ChainKey::Sha256,
    };
    // All lines first, so that a gap can be told from a swap by looking ahead.
    let all = read_lines(files)?;
    let mut walk = Walk {
        chain,
        from_start: options.start.is_some(),
        lines: 0,
        prev: options.start.clone().unwrap_or_else(|| GENESIS.to_string()),
        expect_seq: None,
        seen_key: None,
    };
    let mut last_at = None;
    for (idx, (f, n, raw)) in all.iter().enumerate() {
        let later = all.get(idx + 1..).unwrap_or_default();
        if let Err((b, key)) = walk.step(raw, later) {
            return Ok(Verification {
                lines: walk.lines,
                head: walk.prev,
                key,
                broken: Some(((*f).clone(), *n, b)),
            });
        }
        last_at = Some(((*f).clone(), *n));
    }
    if let Some(h) = &options.head {
        if *h != walk.prev {
            let (f, n) = last_at.unwrap_or_else(|| (files.first().cloned().unwrap_or_default(), 0));
            return Ok(Verification {
                lines: walk.lines,
                head: walk.prev,
                key: walk.seen_key,
                broken: Some((f, n, Break::Truncated)),
            });
        }
    }
    Ok(Verification {
        lines: walk.lines,
        head: walk.prev,
        key: walk.seen_key,
        broken: None,
    })
}

/// A non-empty line of a log: its file, its 1-based number, its bytes.
type Line<'a> = (&'a PathBuf, u64, Vec<u8>);

/// The non-empty lines of the files, in order.
fn read_lines(files: &[PathBuf]) -> Result<Vec<Line<'_>>, Error> {
    let mut all = Vec::new();
    for f in files {
        let file = File::open(f).map_err(|e| io_err(f, e))?;
        for (i, l) in BufReader::new(file).split(b'\n').enumerate() {
            let raw = l.map_err(|e| io_err(f, e))?;
            if !raw.is_empty() {
                all.push((f, i as u64 + 1, raw));
            }
        }
    }
    Ok(all)
}

/// The walk along a chain: what the lines so far established.
struct Walk {
    chain: ChainKey,
    /// Whether the chain starts at a given hash rather than at `seq` 0.
    from_start: bool,
    /// Lines that held.
    lines: u64,
    /// The hash of the last line that held (or the start).
    prev: String,
    /// The `seq` the next line must have; `None` before the first line.
    expect_seq: Option<u64>,
    /// The key fingerprint the first line carries.
    seen_key: Option<String>,
}

impl Walk {
    /// Checks one line (`later`: the lines after it) and moves past it; a
    /// break comes with the key fingerprint to report.
    fn step(&mut self, raw: &[u8], later: &[Line<'_>]) -> Result<(), (Break, Option<String>)> {
        let Some((rec, head)) = parse_line(raw) else {
            return Err((Break::Malformed, self.seen_key.clone()));
        };
        if self.seen_key.is_none() {
            self.seen_key.clone_from(&rec.key);
        }
        match (rec.key.as_deref(), self.chain.fingerprint()) {
            (Some(_), None) => return Err((Break::KeyNeeded, rec.key)),
            (Some(theirs), Some(ours)) if theirs != ours => return Err((Break::OtherKey, rec.key)),
            (None, Some(_)) => return Err((Break::Unkeyed, self.seen_key.clone())),
            _ => {}
        }
        if self.chain.hash(head.as_bytes()) != rec.hash {
            return Err((Break::Edited, self.seen_key.clone()));
        }
        self.sequence(&rec, later)
            .map_err(|b| (b, self.seen_key.clone()))?;
        self.expect_seq = Some(rec.seq + 1);
        self.prev = rec.hash;
        self.lines += 1;
        Ok(())
    }

    /// Whether the line comes where the chain expects it: the first line
    /// at the log's start (or the given start hash), every other one next
    /// in `seq` and linked to the line before.
    fn sequence(&self, rec: &Envelope, later: &[Line<'_>]) -> Result<(), Break> {
        let Some(want) = self.expect_seq else {
            let first = self.from_start || rec.seq == 0;
            if !first || rec.prev != self.prev {
                return Err(Break::Unanchored);
            }
            return Ok(());
        };
        if rec.seq > want {
            let seq_of = |raw: &[u8]| serde_json::from_slice::<Envelope>(raw).ok().map(|r| r.seq);
            let found = later.iter().any(|(_, _, r)| seq_of(r) == Some(want));
            return Err(if found {
                Break::Reordered
            } else {
                Break::Removed
            });
        }
        if rec.seq < want {
            return Err(Break::Reordered);
        }
        if rec.prev != self.prev {
            // The right place in the sequence, a valid hash, the wrong
            // link: a line rebuilt by someone who could hash it.
            return Err(Break::Edited);
        }
        Ok(())
    }
}

/// A chained record and the part of its line its hash covers; `None` when
/// the line is not one (not UTF-8, not a record, or with bytes after its
/// hash).
fn parse_line(raw: &[u8]) -> Option<(Envelope, &str)> {
    let text = std::str::from_utf8(raw).ok()?;
    let rec = serde_json::from_str::<Envelope>(text).ok()?;
    let (head, hash) = split_line(text)?;
    (hash == rec.hash).then_some((rec, head))
}

/// Filters for [`summarize`].
#[derive(Debug, Clone, Default)]
pub struct SummaryFilter {
    /// Only events at or after this RFC 3339 time.
    pub since: Option<String>,
    /// Only events before this RFC 3339 time.
    pub until: Option<String>,
    /// Only this actor's events.
    pub actor: Option<String>,
}

/// Counts over a log.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Summary {
    /// Events counted.
    pub events: u64,
    /// Per decision.
    pub decisions: BTreeMap<String, u64>,
    /// Per refusal or error code.
    pub reasons: BTreeMap<String, u64>,
    /// Values transformed per `column/action`.
    pub redactions: BTreeMap<String, u64>,
    /// Detector hits per detector.
    pub detectors: BTreeMap<String, u64>,
    /// Events per actor.
    pub actors: BTreeMap<String, u64>,
    /// Events per kind.
    pub kinds: BTreeMap<String, u64>,
}

fn parse_time(s: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&chrono::Utc))
}

/// Counts events per decision, reason, column and action, detector, actor.
///
/// # Errors
/// A file cannot be read, a line is not a record, or a filter time is not
/// RFC 3339.
pub fn summarize(files: &[PathBuf], filter: &SummaryFilter) -> Result<Summary, Error> {
    let bound = |s: &Option<String>| -> Result<Option<chrono::DateTime<chrono::Utc>>, Error> {
        s.as_deref()
            .map(|t| {
                parse_time(t).ok_or_else(|| {
                    Error::usage(format!(
                        "`{t}` is not an RFC 3339 time such as 2026-01-31T00:00:00Z"
                    ))
                })
            })
            .transpose()
    };
    let (since, until) = (bound(&filter.since)?, bound(&filter.until)?);
    let mut s = Summary::default();
    for f in files {
        let file = File::open(f).map_err(|e| io_err(f, e))?;
        for (i, l) in BufReader::new(file).lines().enumerate() {
            let l = l.map_err(|e| io_err(f, e))?;
            if l.trim().is_empty() {
                continue;
            }
            let not_record =
                || Error::usage(format!("{}:{}: not an audit record", f.display(), i + 1));
            let rec: Typed = serde_json::from_str(&l).map_err(|_| not_record())?;
            // Other record types (per-attempt records, …) are not requests.
            if rec.kind != "request" {
                continue;
            }
            let e: AuditEvent = serde_json::from_value(rec.data).map_err(|_| not_record())?;
            let t = parse_time(&e.time);
            if since.is_some_and(|b| t.is_none_or(|t| t < b))
                || until.is_some_and(|b| t.is_none_or(|t| t >= b))
            {
                continue;
            }
            if filter.actor.as_ref().is_some_and(|a| a != &e.actor) {
                continue;
            }
            s.events += 1;
            let d = match e.decision {
                Some(Decision::Allowed) => "allowed",
                Some(Decision::Refused) => "refused",
                Some(Decision::Error) => "error",
                None => "unknown",
            };
            *s.decisions.entry(d.into()).or_default() += 1;
            if let Some(r) = &e.reason {
                *s.reasons.entry(r.code.clone()).or_default() += 1;
            }
            for r in &e.redactions {
                *s.redactions
                    .entry(format!("{}/{}", r.column, r.action))
                    .or_default() += r.count;
            }
            for (k, v) in &e.detector_hits {
                *s.detectors.entry(k.clone()).or_default() += v;
            }
            *s.actors.entry(e.actor.clone()).or_default() += 1;
            *s.kinds.entry(e.kind.clone()).or_default() += 1;
        }
    }
    Ok(s)
}
