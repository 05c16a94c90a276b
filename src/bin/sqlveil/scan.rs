//! `sqlveil scan`: finds and replaces PII in text from standard input.

use crate::args::{AuditArgs, Keys};
use crate::auditor::Auditor;
use crate::output::{counts, print_serialize};
use crate::setup::{known_detector, stdin_text, tokens};
use sqlveil::audit::Decision;
use sqlveil::detect::Detector;
use sqlveil::{Error, PolarsEngine, Policy};

pub(crate) fn scan(
    rules: &std::path::Path,
    data: Option<&std::path::Path>,
    audit: &AuditArgs,
    keys: &Keys,
) -> Result<u8, Error> {
    let policy = Policy::from_path(rules)?;
    let (key, tokens) = tokens(&policy, keys)?;
    let auditor = Auditor::new(audit, "scan", Some(&key), &policy)?;
    let detector = match data {
        Some(dir) => known_detector(&policy, &PolarsEngine::open(dir, &policy)?, &key, Some(dir))?,
        None => Detector::new(&policy)?,
    };
    let raw = stdin_text();
    // Token look-alikes in the text are made harmless first: text scanned
    // here goes to a model, and a look-alike could be revealed as another
    // person's value. Offsets are in the text after that step.
    let (text, lookalikes) = tokens.neutralize(&raw);
    // One search gives both the hits and the redacted text; one vault lock
    // and one append for the whole text.
    let result = tokens
        .batch(|t| detector.redact_with_hits(&text, t))
        .map(|(mut r, hits)| {
            if lookalikes > 0 {
                *r.counts.entry("token_lookalike".to_string()).or_insert(0) += lookalikes;
            }
            (r, hits)
        });
    let mut ev = auditor.event(None, Some(&text), None);
    match &result {
        Ok((r, _)) => {
            ev.decision = Some(Decision::Allowed);
            ev.detector_hits = counts(&r.counts);
        }
        Err(e) => auditor.failed(&mut ev, e),
    }
    auditor.record(ev)?;
    let (redacted, hits) = result?;
    print_serialize(&ScanOutput {
        hits: hits
            .iter()
            .map(|h| ScanHit {
                start: h.range.start,
                end: h.range.end,
                detector: &h.detector,
                class: &h.class,
            })
            .collect(),
        counts: &redacted.counts,
        text: &redacted.text,
    });
    // The process ends here: the vault's map (two strings per token) and
    // the hits (two per hit) are left to the OS instead of being freed one
    // allocation at a time, which took a tenth of a large scan. The vault
    // file was written and flushed when its batch was committed.
    std::mem::forget((tokens, hits));
    Ok(0)
}

/// What `scan` prints, serialised as it is written (a large text has many
/// hits: no intermediate JSON tree).
#[derive(serde::Serialize)]
pub(crate) struct ScanOutput<'a> {
    hits: Vec<ScanHit<'a>>,
    counts: &'a std::collections::BTreeMap<String, usize>,
    text: &'a str,
}

#[derive(serde::Serialize)]
pub(crate) struct ScanHit<'a> {
    start: usize,
    end: usize,
    detector: &'a str,
    class: &'a str,
}
