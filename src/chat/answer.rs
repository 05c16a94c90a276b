//! What a request gives back: the answer, its attempts and timings.

use super::{AnswerSegment, DirectMatch};
use crate::guard::OutputColumn;
use crate::llm::Usage;
use polars::prelude::DataFrame;
use std::collections::BTreeMap;
use std::time::Duration;

/// One try at a query: the SQL the model wrote, and why it failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Attempt {
    /// The SQL extracted from the model's answer (`None` when it held none).
    /// It carries tokens, never the values behind them.
    pub sql: Option<String>,
    /// Why it was not accepted: the error's code and the text the model was
    /// sent for repair; `None` for the accepted attempt.
    pub error: Option<AttemptError>,
}

/// Why an attempt failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AttemptError {
    /// The error's code ([`Error::code`](crate::Error::code)): a refusal reason, `engine`, `no_sql`.
    pub code: &'static str,
    /// The text sent back to the model: fixed sentences and names of the
    /// schema the model sees, never the model's own text or an engine's.
    pub feedback: String,
}

/// Where the time of a request went.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
#[non_exhaustive]
pub struct Timings {
    /// Scrubbing the question.
    pub scrub: Duration,
    /// Building the prompt.
    pub prompt: Duration,
    /// Waiting for the model (every call).
    pub model: Duration,
    /// The guard (every attempt).
    pub guard: Duration,
    /// The engine (every attempt).
    pub engine: Duration,
    /// Protecting the rows.
    pub protect: Duration,
    /// Revealing the answer and rows for the role.
    pub reveal: Duration,
    /// The whole request.
    pub total: Duration,
}

impl Timings {
    /// The pipeline's own time: everything but the model's.
    pub fn overhead(&self) -> Duration {
        self.total.saturating_sub(self.model)
    }
}

/// The outcome of [`Chat::ask`](crate::Chat::ask).
///
/// Its `Debug` shows what the model saw and how the request went, never
/// the revealed answer or rows (they hold protected values).
#[derive(Clone)]
#[non_exhaustive]
pub struct ChatAnswer {
    /// The answer for the user, tokens revealed for their role; `None` when
    /// answer writing is off. Revealed values sit in the model's text: a UI
    /// that renders markup should use [`answer_segments`](Self::answer_segments)
    /// and show values as plain text.
    pub answer: Option<String>,
    /// The same answer as segments: the model's text, and each revealed
    /// value with its class and token.
    pub answer_segments: Option<Vec<AnswerSegment>>,
    /// The answer as the model wrote it (tokens, no protected value).
    pub model_answer: Option<String>,
    /// The question as the model saw it.
    pub question_sent: String,
    /// The accepted SQL as the model wrote it (tokens, not values).
    pub sql: String,
    /// The output columns and their actions.
    pub columns: Vec<OutputColumn>,
    /// The rows as the model saw them (protected).
    pub model_rows: DataFrame,
    /// The rows for the user: tokens revealed for their role.
    pub rows: DataFrame,
    /// Every query attempt, the accepted one last (empty when the SQL came
    /// from the cache).
    pub attempts: Vec<Attempt>,
    /// Whether the SQL came from the cache.
    pub cached: bool,
    /// Model calls made.
    pub model_calls: u32,
    /// Tokens used by every model call.
    pub usage: Usage,
    /// Detector hits in the question and the rows, per detector.
    pub detector_hits: BTreeMap<String, usize>,
    /// How many tokens were revealed.
    pub revealed: usize,
    /// Where the time went.
    pub timings: Timings,
    /// The `direct` example that answered, with no model call for SQL, and
    /// its score; `None` when the model wrote the SQL.
    pub direct: Option<DirectMatch>,
    /// The names of the examples the SQL prompt showed the model (none for a
    /// direct answer).
    pub examples: Vec<String>,
}

impl std::fmt::Debug for ChatAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatAnswer")
            .field("model_answer", &self.model_answer)
            .field("question_sent", &self.question_sent)
            .field("sql", &self.sql)
            .field("columns", &self.columns)
            .field("model_rows", &self.model_rows.shape())
            .field("rows", &self.rows.shape())
            .field("attempts", &self.attempts)
            .field("cached", &self.cached)
            .field("model_calls", &self.model_calls)
            .field("usage", &self.usage)
            .field("detector_hits", &self.detector_hits)
            .field("revealed", &self.revealed)
            .field("timings", &self.timings)
            .field("direct", &self.direct)
            .field("examples", &self.examples)
            .finish_non_exhaustive()
    }
}
