//! Reading the log back: chain verification and summaries.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::chain::ChainKey;
use super::record::{AuditEvent, Decision, LineIn, GENESIS};
use crate::error::{Error, ErrorKind};
use crate::tokens::MasterKey;

/// What is wrong at the first broken line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Break {
    /// The line is not a chained record (torn, truncated or not JSON).
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
}

/// The result of verifying a log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verification {
    /// Lines read.
    pub lines: u64,
    /// The last line's hash: keep it elsewhere to detect a cut tail later.
    pub head: String,
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

/// Verifies a log given as its files in order (rotated files first). With a
/// key, lines must carry HMACs under it; without, plain SHA-256.
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
    let chain = ChainKey::from_key(key)?;
    // All lines first, so that a gap can be told from a swap by looking ahead.
    let mut all: Vec<(&PathBuf, u64, Vec<u8>)> = Vec::new();
    for f in files {
        let file = File::open(f).map_err(|e| io_err(f, e))?;
        for (i, l) in BufReader::new(file).split(b'\n').enumerate() {
            let raw = l.map_err(|e| io_err(f, e))?;
            if !raw.is_empty() {
                all.push((f, i as u64 + 1, raw));
            }
        }
    }
    let seq_of = |raw: &[u8]| {
        std::str::from_utf8(raw)
            .ok()
            .and_then(|t| serde_json::from_str::<LineIn>(t).ok())
            .map(|r| r.seq)
    };
    let mut expect_seq = None::<u64>;
    let mut prev = GENESIS.to_string();
    let mut lines = 0;
    let mut last_at = None;
    for (idx, (f, n, raw)) in all.iter().enumerate() {
        let broken = |b| Verification {
            lines,
            head: prev.clone(),
            broken: Some(((*f).clone(), *n, b)),
        };
        let Ok(text) = std::str::from_utf8(raw) else {
            return Ok(broken(Break::Malformed));
        };
        let Ok(rec) = serde_json::from_str::<LineIn>(text) else {
            return Ok(broken(Break::Malformed));
        };
        let Some(cut) = text.rfind(",\"hash\":\"") else {
            return Ok(broken(Break::Malformed));
        };
        if chain.hash(&text.as_bytes()[..cut]) != rec.hash || rec.kind != "request" {
            return Ok(broken(Break::Edited));
        }
        // The first line may continue an older, archived log: its seq and
        // prev are accepted as the start.
        if let Some(want) = expect_seq {
            if rec.seq > want {
                let later = all[idx + 1..]
                    .iter()
                    .any(|(_, _, r)| seq_of(r) == Some(want));
                return Ok(broken(if later {
                    Break::Reordered
                } else {
                    Break::Removed
                }));
            }
            if rec.seq < want {
                return Ok(broken(Break::Reordered));
            }
            if rec.prev != prev {
                // The right place in the sequence, a valid hash, the wrong
                // link: a line rebuilt by someone who could hash it.
                return Ok(broken(Break::Edited));
            }
        }
        expect_seq = Some(rec.seq + 1);
        prev = rec.hash;
        lines += 1;
        last_at = Some(((*f).clone(), *n));
    }
    if let Some(h) = head {
        if h != prev {
            let (f, n) = last_at.unwrap_or_else(|| (files.first().cloned().unwrap_or_default(), 0));
            return Ok(Verification {
                lines,
                head: prev,
                broken: Some((f, n, Break::Truncated)),
            });
        }
    }
    Ok(Verification {
        lines,
        head: prev,
        broken: None,
    })
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
            let rec: LineIn = serde_json::from_str(&l).map_err(|_| {
                Error::usage(format!("{}:{}: not an audit record", f.display(), i + 1))
            })?;
            let e: AuditEvent = rec.data;
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
