//! The chat pipeline: a question in, an answer out, the model never seeing a
//! protected value.
//!
//! [`Chat::ask`] runs, for one question and one end user's [`Context`]:
//!
//! 1. **scrub**: the question's PII becomes tokens ([`Detector::redact`](crate::detect::Detector::redact)):
//!    pattern hits, and the data's own protected values (names, customer
//!    numbers) that the detector loaded from the engine;
//! 2. **prompt**: the schema the model may see (no `deny` column, how each
//!    column is shown, within a token budget), the engine's SQL dialect and
//!    the scrubbed question;
//! 3. **model** → **SQL**: the first statement of the answer, fenced or bare;
//! 4. **guard** (which turns tokens the question carried back into values) →
//!    **engine** → **protect**; a refusal or an engine error goes back to the
//!    model, stripped of literals and scanned, for a bounded number of repair
//!    attempts, and every repaired query passes the guard again;
//! 5. **answer**: optionally, a second call writes the answer from the
//!    protected rows;
//! 6. **reveal**: tokens in the answer and rows become values for the classes
//!    the user's role may see: only tokens issued for this request (in the
//!    rows the model saw or the scrubbed question), never inside a URL, a
//!    link or image target, an HTML tag or a code span; links to hosts
//!    outside an allow-list can be removed ([`ChatBuilder::link_hosts`]); the
//!    answer also comes as [`AnswerSegment`]s for a UI;
//! 7. **audit**: one hash-chained record, with no raw value.
//!
//! The same scrubbed question, prompt version and rules give the same SQL: a
//! cache keyed by them answers repeated questions without a model call (and
//! the cached SQL still passes the guard).

pub(crate) mod answer;
mod builder;
mod cache;
pub(crate) mod context;
mod event;
mod examples;
mod extract;
pub(crate) mod pipeline;
mod prompt;
mod repair;
mod reveal;

pub(crate) use self::answer::ChatAnswer;
pub use self::answer::{Attempt, AttemptError, Timings};
pub use self::builder::ChatBuilder;
pub(crate) use self::context::Context;
pub(crate) use self::examples::fill_for_question;
pub use self::examples::{DirectMatch, Example, ExampleHit, ExampleIndex, ExampleSet, ParamKind};
pub(crate) use self::pipeline::Chat;
pub use self::prompt::PROMPT_VERSION;
pub use self::reveal::{reveal_answer, AnswerSegment};
// `examples.rs` runs a direct example through the pipeline.
use self::pipeline::Trace;
