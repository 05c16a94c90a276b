//! Evaluation: a question set run through [`Chat`], scored.
//!
//! A [`QuestionSet`] (TOML) holds questions with gold SQL (with `{param}`
//! slots filled from the question, as examples' are) or expected rows, an
//! optional role, and whether a refusal is the expected outcome. [`run`]
//! asks each through a [`Chat`] and scores it:
//!
//! - **execution match** (Spider / sql-eval style): the rows the model saw
//!   against the gold query's rows through the same guard, engine and
//!   protection — compared as multisets, in order only when the gold
//!   query's outermost `SELECT` has an `ORDER BY`, numbers to a relative
//!   tolerance, and a result with more columns accepted when every gold
//!   column is among them;
//! - **refusal** expected against got;
//! - repairs, model calls, tokens, latency and the pipeline's own time;
//! - **privacy**: every request the model received (as a [`RecordingModel`]
//!   saw it) is searched for every protected value of the data.
//!
//! [`RecordingModel`] stores every response keyed by a hash of its request
//! and [`ReplayModel`] answers from them, so that a prompt or rule change is
//! scored offline; [`ScriptedEval`] answers a question set's own scripted
//! SQL, for CI. [`compare`] sets two reports side by side.

mod compare;
mod model;
mod privacy;
mod score;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use serde::{Deserialize, Serialize};

pub use self::compare::{compare, Comparison, QuestionDiff};
pub use self::model::{request_hash, RecordingModel, ReplayModel, ScriptedEval};
pub use self::privacy::{PrivacyCheck, PrivacyLeak};
pub use self::score::{execution_match, Cell};

use crate::chat::{Chat, Context, Example};
use crate::error::{Error, ErrorKind};

/// One question of a set.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Question {
    /// A short, unique id.
    pub id: String,
    /// The question, as a user would ask it.
    pub question: String,
    /// The gold SQL against the real schema; `{param}` slots are filled
    /// from the question's tokens, numbers and dates.
    #[serde(default)]
    pub gold: Option<String>,
    /// The slots' kinds (`number`, `date` or a token class).
    #[serde(default)]
    pub params: BTreeMap<String, String>,
    /// Expected rows (as the model would see them) instead of gold SQL.
    #[serde(default)]
    pub expected: Option<Vec<Vec<toml::Value>>>,
    /// Whether the gold result is ordered (default: whether the gold SQL's
    /// outermost query has `ORDER BY`; for expected rows, false).
    #[serde(default)]
    pub ordered: Option<bool>,
    /// The role the question is asked as.
    #[serde(default)]
    pub role: Option<String>,
    /// Whether the right outcome is a refusal.
    #[serde(default)]
    pub refuse: bool,
    /// A free-form category (`lookup`, `join`, `aggregate`, …) for reports.
    #[serde(default)]
    pub category: Option<String>,
    /// What [`ScriptedEval`] answers, attempt by attempt (default: the gold
    /// SQL); slots as in `gold`.
    #[serde(default)]
    pub scripted: Vec<String>,
    /// Privacy findings in this question's requests reviewed as chance
    /// matches (an average income that equals a ZIP code), each by the
    /// fingerprint the report prints (`customers.zip#1a2b3c4d`): one entry
    /// reviews one finding, reported and marked reviewed but not failing
    /// the run. Any other finding fails it, another value of the same
    /// column included.
    #[serde(default)]
    pub privacy_reviewed: Vec<String>,
}

impl Question {
    /// The gold SQL as an example (for filling its slots).
    fn as_example(&self, sql: &str) -> Result<Example, Error> {
        let mut e = Example::new(self.id.clone(), self.question.clone(), sql.to_string());
        for (k, v) in &self.params {
            e = e.param(k.clone(), v)?;
        }
        Ok(e)
    }
}

/// A question set.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuestionSet {
    /// The questions, in order.
    #[serde(default, rename = "question")]
    pub questions: Vec<Question>,
}

impl QuestionSet {
    /// Reads a set from TOML (`[[question]]` tables).
    ///
    /// # Errors
    /// Malformed TOML, unknown keys, duplicate ids, a question with neither
    /// gold SQL, expected rows nor `refuse = true`, a `privacy_reviewed`
    /// entry that is not a finding's fingerprint.
    pub fn from_toml_str(text: &str) -> Result<QuestionSet, Error> {
        let set: QuestionSet = toml::from_str(text)
            .map_err(|e| Error::usage(format!("question set: {}", e.message())))?;
        let mut seen = std::collections::BTreeSet::new();
        for q in &set.questions {
            if !seen.insert(q.id.as_str()) {
                return Err(Error::usage(format!(
                    "question set: the id `{}` is used twice",
                    q.id
                )));
            }
            if q.gold.is_none() && q.expected.is_none() && !q.refuse {
                return Err(Error::usage(format!(
                    "question set: `{}` has neither `gold`, `expected` nor `refuse = true`",
                    q.id
                )));
            }
            if let Some(bad) = q
                .privacy_reviewed
                .iter()
                .find(|r| !privacy::is_fingerprint(r))
            {
                return Err(Error::usage(format!(
                    "question set: `{}` lists `{bad}` in privacy_reviewed; an entry reviews one finding and names it as the report prints it (`table.column#` and 8 hex digits), never a whole column",
                    q.id
                )));
            }
        }
        Ok(set)
    }

    /// Reads a set from a TOML file.
    ///
    /// # Errors
    /// As [`from_toml_str`](Self::from_toml_str); a file that cannot be read.
    pub fn from_path(path: impl AsRef<Path>) -> Result<QuestionSet, Error> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| {
            Error::new(ErrorKind::Io {
                path: path.to_path_buf(),
                source,
            })
        })?;
        QuestionSet::from_toml_str(&text)
    }
}

/// How a question came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Outcome {
    /// The result matched the gold result.
    Match,
    /// A result, but not the gold one.
    Mismatch,
    /// Refused, as expected.
    RefusedAsExpected,
    /// Refused, but an answer was expected.
    WrongRefusal,
    /// Answered, but a refusal was expected.
    MissedRefusal,
    /// The pipeline failed otherwise (engine error, no SQL, model failure).
    Error,
}

impl Outcome {
    /// Whether the outcome is the right one.
    pub fn correct(self) -> bool {
        matches!(self, Outcome::Match | Outcome::RefusedAsExpected)
    }

    /// The outcome's name in reports.
    pub fn as_tag(self) -> &'static str {
        match self {
            Outcome::Match => "match",
            Outcome::Mismatch => "mismatch",
            Outcome::RefusedAsExpected => "refused_as_expected",
            Outcome::WrongRefusal => "wrong_refusal",
            Outcome::MissedRefusal => "missed_refusal",
            Outcome::Error => "error",
        }
    }
}

/// One question's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct QuestionResult {
    /// The question's id.
    pub id: String,
    /// Its category, if the set gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// How it came out.
    pub outcome: Outcome,
    /// Whether a refusal was expected.
    pub expected_refusal: bool,
    /// Whether the pipeline refused.
    pub refused: bool,
    /// The error's code, when the pipeline failed or refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The direct example that answered, if one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direct: Option<String>,
    /// Its score.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direct_score: Option<f64>,
    /// The examples the SQL prompt showed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub examples: Vec<String>,
    /// Failed attempts before the accepted one.
    pub repairs: u32,
    /// Calls to the model (SQL, repairs and answer).
    pub model_calls: u32,
    /// Prompt tokens.
    pub prompt_tokens: u64,
    /// Completion tokens.
    pub completion_tokens: u64,
    /// The whole `ask`, in milliseconds.
    pub latency_ms: f64,
    /// The pipeline's own time (all but the model's), in milliseconds.
    pub pipeline_ms: f64,
    /// The harness's own time for the question (gold query, scoring), in
    /// milliseconds.
    pub harness_ms: f64,
}

/// Totals over a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub struct Summary {
    /// Questions run.
    pub questions: usize,
    /// Questions with the right outcome.
    pub correct: usize,
    /// Questions expecting an answer whose result matched.
    pub execution_match: usize,
    /// Questions expecting an answer.
    pub answerable: usize,
    /// Expected refusals that were refused.
    pub refusals_right: usize,
    /// Questions expecting a refusal.
    pub refusals_expected: usize,
    /// Questions answered by a direct example (no model call for SQL).
    pub direct: usize,
    /// Failed attempts, over all questions.
    pub repairs: u64,
    /// Model calls, over all questions.
    pub model_calls: u64,
    /// Tokens (prompt and completion), over all questions.
    pub tokens: u64,
    /// Mean latency of `ask`, in milliseconds.
    pub mean_latency_ms: f64,
    /// Mean pipeline time (all but the model's), in milliseconds.
    pub mean_pipeline_ms: f64,
    /// Mean harness time per question, in milliseconds.
    pub mean_harness_ms: f64,
}

/// A whole run: what was run, each question's result, totals, privacy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Report {
    /// The model's name.
    pub model: String,
    /// The prompt version ([`PROMPT_VERSION`](crate::chat::PROMPT_VERSION)).
    pub prompt_version: String,
    /// SHA-256 of the rules.
    pub rules_digest: String,
    /// Per question, in the set's order.
    pub questions: Vec<QuestionResult>,
    /// Totals.
    pub summary: Summary,
    /// The privacy check over every model request.
    pub privacy: PrivacyCheck,
}

/// Options of a run.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct EvalOptions {
    /// Relative tolerance for numbers (default 1e-6; absolute below 1).
    pub tolerance: f64,
}

impl Default for EvalOptions {
    fn default() -> EvalOptions {
        EvalOptions { tolerance: 1e-6 }
    }
}

/// An order key for [`ChatBuilder::order_key`](crate::chat::ChatBuilder::order_key)
/// derived from the master key, so that a recorded run and its replay
/// (under the same key) show rows in the same order.
///
/// # Errors
/// The key cannot be derived.
pub fn order_key(key: &crate::MasterKey) -> Result<[u8; 16], Error> {
    let k = key.hmac_key("eval order key", "v1")?;
    let tag = ring::hmac::sign(&k, b"sqlveil eval");
    let mut out = [0u8; 16];
    out.copy_from_slice(&tag.as_ref()[..16]);
    Ok(out)
}

/// Runs a question set through a chat whose model is `seen` (or wraps it),
/// and scores every question.
///
/// # Errors
/// A gold query that fails or cannot be filled from its question (the set
/// is wrong, not the model), the data's protected values cannot be read,
/// an audit event that cannot be written.
pub fn run(
    chat: &Chat,
    set: &QuestionSet,
    seen: &RecordingModel,
    options: &EvalOptions,
) -> Result<Report, Error> {
    let mut results = Vec::new();
    let mut owners = Vec::new();
    for q in &set.questions {
        let (before, used) = (seen.request_count(), seen.usage());
        let mut r = run_one(chat, q, options)?;
        // A failed request returns no counts: the recorder's are used.
        let calls = seen.request_count().saturating_sub(before);
        r.model_calls = calls.try_into().unwrap_or(u32::MAX);
        let now = seen.usage();
        r.prompt_tokens = now.prompt_tokens.saturating_sub(used.prompt_tokens);
        r.completion_tokens = now.completion_tokens.saturating_sub(used.completion_tokens);
        results.push(r);
        owners.push(privacy::Owner {
            requests: before..seen.request_count(),
            id: &q.id,
            reviewed: &q.privacy_reviewed,
        });
    }
    let privacy = privacy::check(chat, &seen.requests(), &owners)?;
    let summary = summarize(&results);
    Ok(Report {
        model: seen.name_of_inner().to_string(),
        prompt_version: crate::chat::PROMPT_VERSION.to_string(),
        rules_digest: chat.policy().digest().to_string(),
        questions: results,
        summary,
        privacy,
    })
}

fn run_one(chat: &Chat, q: &Question, options: &EvalOptions) -> Result<QuestionResult, Error> {
    let start = Instant::now();
    let mut ctx = Context::new("eval").request_id(format!("eval-{}", q.id));
    if let Some(r) = &q.role {
        ctx = ctx.role(r.clone());
    }
    let answer = chat.ask(&q.question, &ctx);
    let ask_time = start.elapsed();
    let mut r = QuestionResult {
        id: q.id.clone(),
        category: q.category.clone(),
        outcome: Outcome::Error,
        expected_refusal: q.refuse,
        refused: false,
        error: None,
        direct: None,
        direct_score: None,
        examples: Vec::new(),
        repairs: 0,
        model_calls: 0,
        prompt_tokens: 0,
        completion_tokens: 0,
        latency_ms: ms(ask_time),
        pipeline_ms: ms(ask_time),
        harness_ms: 0.0,
    };
    match answer {
        Ok(a) => {
            r.repairs = a
                .attempts
                .iter()
                .filter(|t| t.error.is_some())
                .count()
                .try_into()
                .unwrap_or(u32::MAX);
            r.model_calls = a.model_calls;
            r.prompt_tokens = a.usage.prompt_tokens;
            r.completion_tokens = a.usage.completion_tokens;
            r.latency_ms = ms(a.timings.total);
            r.pipeline_ms = ms(a.timings.overhead());
            r.direct = a.direct.as_ref().map(|d| d.example.clone());
            r.direct_score = a.direct.as_ref().map(|d| d.score);
            r.examples.clone_from(&a.examples);
            r.outcome = if q.refuse {
                Outcome::MissedRefusal
            } else {
                let (gold, ordered) = gold_rows(chat, q)?;
                let got = score::frame_columns(&a.model_rows);
                if score::columns_match(&gold, &got, ordered, options.tolerance) {
                    Outcome::Match
                } else {
                    Outcome::Mismatch
                }
            };
        }
        Err(e) => {
            r.error = Some(e.code().to_string());
            let refused = matches!(e.kind(), ErrorKind::Refused(_));
            r.refused = refused;
            r.outcome = match (refused, q.refuse) {
                (true, true) => Outcome::RefusedAsExpected,
                (true, false) => Outcome::WrongRefusal,
                (false, _) => Outcome::Error,
            };
        }
    }
    r.harness_ms = ms(start.elapsed().saturating_sub(ask_time));
    Ok(r)
}

/// The gold result as columns of cells, and whether it is ordered.
fn gold_rows(chat: &Chat, q: &Question) -> Result<(Vec<Vec<Cell>>, bool), Error> {
    if let Some(rows) = &q.expected {
        let width = rows.first().map_or(0, Vec::len);
        let mut cols = vec![Vec::new(); width];
        for row in rows {
            if row.len() != width {
                return Err(Error::usage(format!(
                    "question `{}`: expected rows differ in length",
                    q.id
                )));
            }
            for (c, v) in cols.iter_mut().zip(row) {
                c.push(Cell::from_toml(v));
            }
        }
        return Ok((cols, q.ordered.unwrap_or(false)));
    }
    let Some(sql) = &q.gold else {
        return Err(Error::usage(format!("question `{}` has no gold", q.id)));
    };
    let example = q.as_example(sql)?;
    let frame = chat
        .run_example(&q.question, &example)
        .map_err(|e| Error::usage(format!("question `{}`: the gold SQL failed: {e}", q.id)))?;
    let ordered = q.ordered.unwrap_or_else(|| score::orders(sql));
    Ok((score::frame_columns(&frame), ordered))
}

fn summarize(results: &[QuestionResult]) -> Summary {
    let n = results.len();
    let mean = |f: &dyn Fn(&QuestionResult) -> f64| {
        if n == 0 {
            0.0
        } else {
            results.iter().map(f).sum::<f64>() / n as f64
        }
    };
    Summary {
        questions: n,
        correct: results.iter().filter(|r| r.outcome.correct()).count(),
        execution_match: results
            .iter()
            .filter(|r| r.outcome == Outcome::Match)
            .count(),
        answerable: results.iter().filter(|r| !r.expected_refusal).count(),
        refusals_right: results
            .iter()
            .filter(|r| r.outcome == Outcome::RefusedAsExpected)
            .count(),
        refusals_expected: results.iter().filter(|r| r.expected_refusal).count(),
        direct: results.iter().filter(|r| r.direct.is_some()).count(),
        repairs: results.iter().map(|r| u64::from(r.repairs)).sum(),
        model_calls: results.iter().map(|r| u64::from(r.model_calls)).sum(),
        tokens: results
            .iter()
            .map(|r| r.prompt_tokens + r.completion_tokens)
            .sum(),
        mean_latency_ms: mean(&|r| r.latency_ms),
        mean_pipeline_ms: mean(&|r| r.pipeline_ms),
        mean_harness_ms: mean(&|r| r.harness_ms),
    }
}

fn ms(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

impl Report {
    /// The report as a text table: one line per question, then totals.
    pub fn table(&self) -> String {
        let mut out = format!(
            "{:<28} {:<20} {:>7} {:>5} {:>7} {:>9} {:>9}  {}\n",
            "question", "outcome", "repairs", "calls", "tokens", "latency", "pipeline", "direct"
        );
        for r in &self.questions {
            out.push_str(&format!(
                "{:<28} {:<20} {:>7} {:>5} {:>7} {:>7.2}ms {:>7.2}ms  {}\n",
                r.id,
                r.outcome.as_tag(),
                r.repairs,
                r.model_calls,
                r.prompt_tokens + r.completion_tokens,
                r.latency_ms,
                r.pipeline_ms,
                match (&r.direct, r.direct_score) {
                    (Some(d), Some(s)) => format!("{d} ({s:.2})"),
                    _ => String::new(),
                }
            ));
        }
        let s = &self.summary;
        out.push_str(&format!(
            "\n{} questions, {} right ({:.1}%): execution match {}/{}, refusals {}/{}; \
             direct answers {} ({:.1}%); {} repairs, {} model calls, {} tokens; \
             mean latency {:.2} ms, pipeline {:.2} ms, harness {:.2} ms\n",
            s.questions,
            s.correct,
            pct(s.correct, s.questions),
            s.execution_match,
            s.answerable,
            s.refusals_right,
            s.refusals_expected,
            s.direct,
            pct(s.direct, s.questions),
            s.repairs,
            s.model_calls,
            s.tokens,
            s.mean_latency_ms,
            s.mean_pipeline_ms,
            s.mean_harness_ms,
        ));
        let p = &self.privacy;
        out.push_str(&format!(
            "privacy: {} model requests searched for {} protected values ({} shorter than {} characters not searched): {}\n",
            p.requests,
            p.values,
            p.skipped_short,
            privacy::MIN_LEN,
            if p.leaks.is_empty() {
                "no value found".to_string()
            } else {
                format!(
                    "{} VALUES FOUND ({} text; {} reviewed in the question set as chance matches)",
                    p.leaks.len(),
                    p.text_leaks(),
                    p.leaks.len() - p.unreviewed(),
                )
            }
        ));
        for l in &p.leaks {
            out.push_str(&format!(
                "  {} request {} ({}): a {} value of {} ({}){}\n",
                if l.reviewed { "reviewed" } else { "FOUND" },
                l.request,
                l.question.as_deref().unwrap_or("no question"),
                l.kind,
                l.column,
                l.fingerprint,
                if l.reviewed {
                    " (privacy_reviewed)"
                } else {
                    ""
                },
            ));
        }
        out
    }
}

fn pct(a: usize, b: usize) -> f64 {
    if b == 0 {
        0.0
    } else {
        100.0 * a as f64 / b as f64
    }
}
