//! The chat pipeline: a question in, an answer out, the model never seeing a
//! protected value.
//!
//! [`Chat::ask`] runs, for one question and one end user's [`Context`]:
//!
//! 1. **scrub**: the question's PII becomes tokens ([`Detector::redact`]):
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

mod examples;
mod extract;
mod prompt;
mod repair;
mod reveal;

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use polars::prelude::{AnyValue, DataFrame, DataType, IntoColumn};

pub(crate) use self::examples::fill_for_question;
pub use self::examples::{DirectMatch, Example, ExampleHit, ExampleIndex, ExampleSet, ParamKind};
use self::extract::extract_sql;
pub use self::prompt::PROMPT_VERSION;
use self::prompt::{
    fill, one_line, SampleValues, Schema, ANSWER_PROMPT, REPAIR_PROMPT, SQL_PROMPT,
};
use self::reveal::LinkHosts;
pub use self::reveal::{reveal_answer, AnswerSegment};
use crate::audit::{
    AuditEvent, AuditSink, Decision, Digester, ExampleUse, ModelUsage, Redaction, Revealed,
};
use crate::detect::{Detector, KnownValuesOptions};
use crate::engine::{ColumnType, Engine};
use crate::error::{Error, ErrorKind};
use crate::guard::{Guard, GuardBuilder, GuardedQuery, OutputColumn};
use crate::llm::{LanguageModel, Message, ModelRequest, Usage};
use crate::protect::{map_text, texts, ColumnReport, Protected, Protector};
use crate::rules::{Action, Policy, TokenClass};
use crate::tokens::{role_classes, MasterKey, RequestResolver, RequestTokens, TokenVault, Tokens};

/// Who is asking: the end user on whose behalf the backend calls
/// [`Chat::ask`].
///
/// # Example
/// ```
/// use sqlveil::chat::Context;
/// let ctx = Context::new("alice@support").role("support").request_id("req-42");
/// assert_eq!(ctx.role_name(), Some("support"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    actor: String,
    role: Option<String>,
    request_id: Option<String>,
}

impl Context {
    /// A context for an actor (a user id, as the audit log should name it).
    /// Without a role, no token is revealed.
    pub fn new(actor: impl Into<String>) -> Context {
        Context {
            actor: actor.into(),
            ..Context::default()
        }
    }

    /// The role whose `reveal` classes the answer is revealed for.
    pub fn role(mut self, role: impl Into<String>) -> Context {
        self.role = Some(role.into());
        self
    }

    /// The request's id in the backend's logs (one is made up when absent).
    pub fn request_id(mut self, id: impl Into<String>) -> Context {
        self.request_id = Some(id.into());
        self
    }

    /// The role, if any.
    pub fn role_name(&self) -> Option<&str> {
        self.role.as_deref()
    }
}

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
    /// The error's code ([`Error::code`]): a refusal reason, `engine`, `no_sql`.
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

/// The outcome of [`Chat::ask`].
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

/// Builds a [`Chat`]. See [`Chat::builder`].
pub struct ChatBuilder {
    policy: Policy,
    engine: Arc<dyn Engine>,
    model: Arc<dyn LanguageModel>,
    key: MasterKey,
    vault: Option<Arc<dyn TokenVault>>,
    detector: Option<Arc<Detector>>,
    audit: Option<Arc<dyn AuditSink>>,
    examples: ExampleSet,
    options: Options,
}

impl std::fmt::Debug for ChatBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatBuilder")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone)]
struct Options {
    max_repairs: u32,
    write_answer: bool,
    cache: usize,
    schema_budget: usize,
    sample_values: usize,
    answer_rows: usize,
    sql_max_tokens: u32,
    answer_max_tokens: u32,
    max_question_bytes: usize,
    link_hosts: Option<Vec<String>>,
    examples_in_prompt: usize,
    direct_threshold: f64,
    order_key: Option<[u8; 16]>,
}

impl ChatBuilder {
    /// The vault that keeps `hash` tokens' values (required for `hash`
    /// tokens; `sealed` tokens need none).
    pub fn vault(mut self, vault: Arc<dyn TokenVault>) -> ChatBuilder {
        self.vault = Some(vault);
        self
    }

    /// The detector for questions, `scan` columns and repair texts (default:
    /// the policy's detectors with the known values of the engine's data,
    /// loaded once when the pipeline is built; keep this detector and call
    /// [`Detector::refresh`] when the data changes).
    pub fn detector(mut self, detector: Arc<Detector>) -> ChatBuilder {
        self.detector = Some(detector);
        self
    }

    /// Where every request's audit event goes. A request whose event cannot
    /// be written fails.
    pub fn audit(mut self, sink: Arc<dyn AuditSink>) -> ChatBuilder {
        self.audit = Some(sink);
        self
    }

    /// How many times a refused or failing query is sent back to the model
    /// (default 2, so at most 3 queries per question).
    pub fn max_repairs(mut self, n: u32) -> ChatBuilder {
        self.options.max_repairs = n;
        self
    }

    /// Whether a second model call writes the answer from the protected rows
    /// (default on). Off, [`ChatAnswer::answer`] is `None` and the rows are
    /// the result.
    pub fn write_answer(mut self, yes: bool) -> ChatBuilder {
        self.options.write_answer = yes;
        self
    }

    /// How many question → SQL pairs the cache keeps (default 1,024; 0 turns
    /// the cache off).
    pub fn cache_capacity(mut self, n: usize) -> ChatBuilder {
        self.options.cache = n;
        self
    }

    /// The schema's share of the prompt, in tokens (estimated at 4 bytes a
    /// token; default 2,000). A larger schema is cut to the tables and
    /// columns most relevant to the question.
    pub fn schema_budget(mut self, tokens: usize) -> ChatBuilder {
        self.options.schema_budget = tokens;
        self
    }

    /// Shows up to `n` distinct values of each `allow` text column in the
    /// schema, after the detectors have run over them (default 0: none, since
    /// sample rows can carry both PII and injected instructions).
    pub fn sample_values(mut self, n: usize) -> ChatBuilder {
        self.options.sample_values = n;
        self
    }

    /// The longest question accepted, in bytes (default 8 KiB); a longer one
    /// is a usage error before any work is done.
    pub fn max_question_bytes(mut self, n: usize) -> ChatBuilder {
        self.options.max_question_bytes = n;
        self
    }

    /// How many result rows the answer-writing call sees (default 50).
    pub fn answer_rows(mut self, n: usize) -> ChatBuilder {
        self.options.answer_rows = n;
        self
    }

    /// Removes from the answer every link, image, autolink, bare URL and
    /// HTML tag that points to a host not listed (`example.com`, or
    /// `*.example.com` for its subdomains); their visible text stays. An
    /// empty list removes every link to any host. Default: links are kept
    /// (a token inside one is never revealed either way). Hosts are checked
    /// when the pipeline is built.
    pub fn link_hosts<I, S>(mut self, hosts: I) -> ChatBuilder
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.options.link_hosts = Some(hosts.into_iter().map(Into::into).collect());
        self
    }

    /// Reviewed question → SQL examples ([`ExampleSet`]): the most similar
    /// go into the SQL prompt, and `direct` ones can answer without a model
    /// call for SQL. Each is checked when the pipeline is built.
    pub fn examples(mut self, examples: ExampleSet) -> ChatBuilder {
        self.examples = examples;
        self
    }

    /// How many of the most similar examples the SQL prompt shows (default
    /// 3), within the schema's token budget.
    pub fn examples_in_prompt(mut self, n: usize) -> ChatBuilder {
        self.options.examples_in_prompt = n;
        self
    }

    /// How closely a question must match a `direct` example to be answered
    /// by its SQL without a model call: the share of the example's words the
    /// question holds, when it holds no other word (default 0.9; above 1.0
    /// turns direct answers off). [`build`](Self::build) refuses a value
    /// below 0.5, or one that is not a finite number.
    pub fn direct_threshold(mut self, threshold: f64) -> ChatBuilder {
        self.options.direct_threshold = threshold;
        self
    }

    /// The key of the guard's order of protected values
    /// ([`GuardBuilder::order_key`]; default: random per pipeline). Two
    /// pipelines with the same key show rows in the same order, which a
    /// recorded evaluation needs to replay the answer-writing calls.
    pub fn order_key(mut self, key: [u8; 16]) -> ChatBuilder {
        self.options.order_key = Some(key);
        self
    }

    /// Builds the pipeline: the guard for the engine's dialect, the tokens,
    /// the detectors, the schema text and the examples' index.
    ///
    /// # Errors
    /// `hash` tokens without a vault, a key that cannot be derived, an engine
    /// failure while reading sample values, a link host that is not a host
    /// name, a [`direct_threshold`](Self::direct_threshold) below 0.5 or not
    /// a finite number, an example that holds a protected value or whose
    /// SQL the guard refuses (a rule error naming the example).
    pub fn build(self) -> Result<Chat, Error> {
        let t = self.options.direct_threshold;
        if !(t.is_finite() && t >= MIN_DIRECT_THRESHOLD) {
            return Err(Error::usage(format!(
                "direct_threshold must be a number of at least {MIN_DIRECT_THRESHOLD} (above 1.0 turns direct answers off), not {t}"
            )));
        }
        let link_hosts = self
            .options
            .link_hosts
            .as_deref()
            .map(LinkHosts::parse)
            .transpose()?;
        let mut guard = GuardBuilder::new();
        guard.dialect(self.engine.dialect());
        if let Some(k) = self.options.order_key {
            guard.order_key(k);
        }
        let guard = guard.build(&self.policy, self.engine.catalog())?;
        let tokens = Tokens::new(&self.policy, self.key.clone(), self.vault)?;
        let detector = match self.detector {
            Some(d) => d,
            None => Arc::new(Detector::with_known_values(
                &self.policy,
                self.engine.as_ref(),
                &KnownValuesOptions::new(),
            )?),
        };
        let samples = samples(
            &self.policy,
            &guard,
            self.engine.as_ref(),
            &detector,
            &tokens,
            self.options.sample_values,
        )?;
        let schema = Schema::new(&self.policy, &guard, &samples, &tokens);
        // Names repair feedback may hold: the tables and columns of the
        // schema the model sees.
        let mut names = BTreeSet::new();
        for t in self.policy.tables() {
            let cols = guard.visible_columns(&t.name);
            if cols.is_empty() {
                continue;
            }
            names.insert(t.name.to_lowercase());
            for (c, _, _) in cols {
                names.insert(c.to_lowercase());
            }
        }
        let digester = Digester::new(&self.key, &self.policy)?;
        let examples =
            ExampleIndex::build(&self.examples, &self.policy, &guard, &detector, &self.key)?;
        Ok(Chat {
            examples,
            protector_key: self.key,
            policy: self.policy,
            engine: self.engine,
            model: self.model,
            guard,
            tokens,
            detector,
            audit: self.audit,
            digester,
            schema,
            names,
            options: self.options,
            link_hosts,
            cache: Mutex::new(Cache::default()),
        })
    }
}

/// The lowest [`ChatBuilder::direct_threshold`]: below half of the words
/// shared, a question is not "the same question" in any sense.
const MIN_DIRECT_THRESHOLD: f64 = 0.5;

/// Reads and scans sample values of `allow` text columns.
fn samples(
    policy: &Policy,
    guard: &Guard,
    engine: &dyn Engine,
    detector: &Detector,
    tokens: &Tokens,
    n: usize,
) -> Result<SampleValues, Error> {
    let mut out = SampleValues::new();
    if n == 0 {
        return Ok(out);
    }
    for t in policy.tables() {
        for (c, p, ty) in guard.visible_columns(&t.name) {
            if p.action != Action::Allow || *ty != ColumnType::Text {
                continue;
            }
            let mut values = Vec::new();
            engine.distinct_values(&t.name, c, Some(n as u64), &mut |v| {
                // Token look-alikes in the data are made harmless first.
                let (v, _) = tokens.neutralize(v);
                // Scanned whole, then cut: a cut value could hide a hit.
                let scanned = detector.redact(&v, tokens)?.text;
                values.push(scanned.chars().take(60).collect::<String>());
                Ok(())
            })?;
            out.insert((t.name.clone(), c.to_string()), values);
        }
    }
    Ok(out)
}

/// A bounded question → SQL cache, oldest out first.
#[derive(Debug, Default)]
struct Cache {
    map: HashMap<String, String>,
    order: VecDeque<String>,
}

impl Cache {
    fn get(&self, key: &str) -> Option<String> {
        self.map.get(key).cloned()
    }

    fn put(&mut self, key: String, sql: String, capacity: usize) {
        if capacity == 0 {
            return;
        }
        if self.map.insert(key.clone(), sql).is_none() {
            self.order.push_back(key);
        }
        while self.map.len() > capacity {
            match self.order.pop_front() {
                Some(old) => {
                    self.map.remove(&old);
                }
                None => break,
            }
        }
    }

    fn remove(&mut self, key: &str) {
        self.map.remove(key);
        self.order.retain(|k| k != key);
    }
}

/// The chat pipeline. `Send + Sync`: one `Chat` serves concurrent requests.
///
/// # Example
/// ```
/// use std::sync::Arc;
/// use sqlveil::chat::{Chat, Context};
/// use sqlveil::llm::ScriptedModel;
/// use sqlveil::{MasterKey, MemoryVault, PolarsEngine, Policy};
///
/// let policy = Policy::from_path("rules/sample.toml")?;
/// let engine = Arc::new(PolarsEngine::open("examples/data", &policy)?);
/// let model = Arc::new(ScriptedModel::new([
///     "```sql\nSELECT segment, COUNT(*) AS customers FROM customers GROUP BY segment ORDER BY segment\n```",
///     "There are three segments.",
/// ]));
/// let key = MasterKey::from_bytes(&[7; 32]);
/// let chat = Chat::builder(policy, engine, model.clone(), key)
///     .vault(Arc::new(MemoryVault::new()))
///     .build()?;
///
/// let a = chat.ask("How many customers per segment?", &Context::new("demo").role("analyst"))?;
/// assert_eq!(a.answer.as_deref(), Some("There are three segments."));
/// assert_eq!(a.rows.height(), 3);
/// // The model was asked twice: for the SQL, then for the answer.
/// assert_eq!(model.requests().len(), 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Chat {
    policy: Policy,
    engine: Arc<dyn Engine>,
    model: Arc<dyn LanguageModel>,
    guard: Guard,
    tokens: Tokens,
    detector: Arc<Detector>,
    protector_key: MasterKey,
    audit: Option<Arc<dyn AuditSink>>,
    digester: Digester,
    schema: Schema,
    names: BTreeSet<String>,
    options: Options,
    link_hosts: Option<LinkHosts>,
    cache: Mutex<Cache>,
    examples: ExampleIndex,
}

impl std::fmt::Debug for Chat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chat")
            .field("model", &self.model.name())
            .field("dialect", &self.guard.dialect())
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

/// What a request did, kept for its audit event even when it fails.
#[derive(Debug, Default)]
struct Trace {
    request_id: String,
    usage: Usage,
    calls: u32,
    last_sql: Option<String>,
    attempts: Vec<Attempt>,
    timings: Timings,
    hits: BTreeMap<String, usize>,
    /// What protection did to each column of the accepted result.
    reports: Vec<ColumnReport>,
    /// The direct example that answered.
    direct: Option<DirectMatch>,
    /// The examples the prompt showed.
    examples: Vec<String>,
}

impl Chat {
    /// A builder from the rules, an engine, a model and the master key.
    pub fn builder(
        policy: Policy,
        engine: Arc<dyn Engine>,
        model: Arc<dyn LanguageModel>,
        key: MasterKey,
    ) -> ChatBuilder {
        ChatBuilder {
            policy,
            engine,
            model,
            key,
            vault: None,
            detector: None,
            audit: None,
            examples: ExampleSet::new(),
            options: Options {
                max_repairs: 2,
                write_answer: true,
                cache: 1024,
                schema_budget: 2000,
                sample_values: 0,
                answer_rows: 50,
                sql_max_tokens: 512,
                answer_max_tokens: 512,
                max_question_bytes: 8 << 10,
                link_hosts: None,
                examples_in_prompt: 3,
                direct_threshold: 0.9,
                order_key: None,
            },
        }
    }

    /// The rules.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The tokens the pipeline issues and reveals.
    pub fn tokens(&self) -> &Tokens {
        &self.tokens
    }

    /// The detector: its [`Detector::known_values_report`] says which columns'
    /// values were loaded (and how many), and
    /// [`Detector::refresh`] reloads them after the data changed.
    pub fn detector(&self) -> &Detector {
        &self.detector
    }

    /// The guard.
    pub fn guard(&self) -> &Guard {
        &self.guard
    }

    /// The system prompt the model receives for a (scrubbed) question.
    pub fn sql_prompt(&self, scrubbed_question: &str) -> String {
        self.sql_prompt_with(scrubbed_question).0
    }

    /// The prompt, and the names of the examples it shows: the most similar
    /// ones, while the schema and they fit in the schema's budget.
    fn sql_prompt_with(&self, scrubbed_question: &str) -> (String, Vec<String>) {
        let budget = self.options.schema_budget;
        let schema = self.schema.render(scrubbed_question, budget);
        let mut used = crate::llm::estimate_tokens(&schema) as usize;
        let mut shown = Vec::new();
        let mut text = String::new();
        let hits = self.examples.retrieve(
            &self.tokens,
            scrubbed_question,
            self.options.examples_in_prompt,
        );
        for hit in hits {
            let e = hit.example;
            let mut block = format!("\nQuestion: {}\nSQL: {}\n", e.question(), one_line(e.sql()));
            if let Some(n) = e.notes_text() {
                block.push_str(&format!("Notes: {}\n", one_line(n)));
            }
            let cost = crate::llm::estimate_tokens(&block) as usize;
            if used + cost > budget {
                break;
            }
            used += cost;
            text.push_str(&block);
            shown.push(e.name().to_string());
        }
        let examples = if text.is_empty() {
            String::new()
        } else {
            format!(
                "\nReviewed examples (a {{name}} in braces stands for a value taken from the question: a token, a number or a date):\n{text}"
            )
        };
        let prompt = fill(
            SQL_PROMPT,
            &[
                ("dialect", self.guard.dialect().name()),
                ("max_rows", &self.policy.defaults().max_rows.to_string()),
                ("schema", schema.trim_end()),
                ("examples", &examples),
            ],
        );
        (prompt, shown)
    }

    /// Answers a question for the user `ctx` describes.
    ///
    /// # Errors
    /// An unknown role; a model failure; the last attempt's refusal, engine
    /// error or missing SQL when no attempt was accepted; a vault failure; an
    /// audit event that cannot be written.
    pub fn ask(&self, question: &str, ctx: &Context) -> Result<ChatAnswer, Error> {
        let start = Instant::now();
        let mut trace = Trace {
            request_id: ctx
                .request_id
                .clone()
                .unwrap_or_else(crate::audit::new_request_id),
            ..Trace::default()
        };
        let result = self.run(question, ctx, &mut trace);
        trace.timings.total = start.elapsed();
        if let Some(sink) = &self.audit {
            let ev = self.event(question, ctx, &trace, &result, start.elapsed());
            sink.record(ev)?;
        }
        result.map(|mut a| {
            a.timings = trace.timings;
            a.usage = trace.usage;
            a.model_calls = trace.calls;
            a.attempts = trace.attempts;
            a.detector_hits = trace.hits;
            a.direct = trace.direct;
            a.examples = trace.examples;
            a
        })
    }

    fn event(
        &self,
        question: &str,
        ctx: &Context,
        trace: &Trace,
        result: &Result<ChatAnswer, Error>,
        elapsed: Duration,
    ) -> AuditEvent {
        let mut ev = AuditEvent {
            kind: "ask".to_string(),
            actor: ctx.actor.clone(),
            request_id: trace.request_id.clone(),
            role: ctx.role.clone(),
            question_digest: Some(self.digester.digest(question)),
            sql: trace
                .last_sql
                .as_deref()
                .map(|s| self.digester.sql(s, Some(&self.tokens))),
            model: Some(ModelUsage {
                calls: trace.calls,
                prompt_tokens: trace.usage.prompt_tokens,
                completion_tokens: trace.usage.completion_tokens,
            }),
            detector_hits: trace
                .hits
                .iter()
                .map(|(k, v)| (k.clone(), *v as u64))
                .collect(),
            duration_ms: elapsed.as_secs_f64() * 1000.0,
            rules_digest: Some(self.policy.digest().to_string()),
            example: trace.direct.as_ref().map(|d| ExampleUse {
                name: d.example.clone(),
                score: d.score,
            }),
            ..AuditEvent::default()
        };
        match result {
            Ok(a) => {
                ev.decision = Some(Decision::Allowed);
                ev.rows = Some(a.model_rows.height() as u64);
                // Output names come from the model's SQL (aliases can hold
                // anything): logged through the digester.
                ev.redactions = trace
                    .reports
                    .iter()
                    .map(|r| {
                        let mut d = Redaction::from(r);
                        d.column = self.digester.name(&d.column);
                        d
                    })
                    .collect();
                if let Some(role) = &ctx.role {
                    let classes = self.policy.role(role).into_iter().flatten();
                    ev.revealed = Some(Revealed {
                        classes: classes.map(|c| c.as_str().to_string()).collect(),
                        tokens: a.revealed as u64,
                    });
                }
            }
            Err(e) => ev.set_failure(e, Some(&self.digester)),
        }
        ev
    }

    fn run(&self, question: &str, ctx: &Context, trace: &mut Trace) -> Result<ChatAnswer, Error> {
        if question.len() > self.options.max_question_bytes {
            return Err(Error::usage(format!(
                "the question is {} bytes long, more than the {} allowed",
                question.len(),
                self.options.max_question_bytes
            )));
        }
        let classes = match &ctx.role {
            Some(r) => Some(role_classes(&self.policy, r)?),
            None => None,
        };

        let t = Instant::now();
        let scrubbed = self.tokens.batch(|t| self.detector.redact(question, t))?;
        add_hits(&mut trace.hits, &scrubbed.counts);
        trace.timings.scrub = t.elapsed();
        // The tokens this request may reveal: those of the scrubbed question
        // now, those of the rows the model sees later.
        let mut issued = RequestTokens::new();
        issued.add_text(&self.tokens, &scrubbed.text);

        let mut accepted = None;
        // A direct example: its SQL, slots filled with literals of the
        // question's tokens, numbers and dates, through the same guard,
        // engine and protection. When it fails, the model is asked.
        if let Some((m, sql)) =
            self.examples
                .direct(&self.tokens, &scrubbed.text, self.options.direct_threshold)
        {
            trace.last_sql = Some(sql.clone());
            let outcome = self.execute(&sql, trace, &issued);
            self.attempt_event(ctx, trace, Some(&sql), &outcome)?;
            match outcome {
                Ok(done) => {
                    trace.attempts.push(Attempt {
                        sql: Some(sql.clone()),
                        error: None,
                    });
                    trace.direct = Some(m);
                    accepted = Some((sql, done));
                }
                Err(e) if repairable(&e) => trace.attempts.push(Attempt {
                    sql: Some(sql),
                    error: Some(AttemptError {
                        code: e.code(),
                        feedback: repair::feedback(&e, &self.names),
                    }),
                }),
                Err(e) => return Err(e),
            }
        }

        let t = Instant::now();
        let (system, shown) = if accepted.is_some() {
            (String::new(), Vec::new())
        } else {
            self.sql_prompt_with(&scrubbed.text)
        };
        trace.examples = shown;
        // The tokens the model's SQL may filter by: those it was shown.
        let mut resolvable = issued.clone();
        resolvable.add_text(&self.tokens, &system);
        let mut messages = vec![Message::user(format!("Question: {}", scrubbed.text))];
        let cache_key = self.cache_key(&scrubbed.text);
        trace.timings.prompt = t.elapsed();

        let mut cached = false;
        let hit = if accepted.is_none() {
            self.cache.lock().ok().and_then(|c| c.get(&cache_key))
        } else {
            None
        };
        if let Some(sql) = hit {
            trace.last_sql = Some(sql.clone());
            match self.execute(&sql, trace, &resolvable) {
                Ok(done) => {
                    cached = true;
                    accepted = Some((sql, done));
                }
                // The data or the catalog changed under the cached SQL: ask
                // the model again.
                Err(_) => {
                    if let Ok(mut c) = self.cache.lock() {
                        c.remove(&cache_key);
                    }
                }
            }
        }

        let mut last_error = None;
        if accepted.is_none() {
            for _ in 0..=self.options.max_repairs {
                let reply = self.call(
                    system.clone(),
                    messages.clone(),
                    self.options.sql_max_tokens,
                    trace,
                )?;
                let sql = extract_sql(&reply);
                if sql.is_some() {
                    trace.last_sql.clone_from(&sql);
                }
                let outcome = match &sql {
                    Some(s) => self.execute(s, trace, &resolvable),
                    None => Err(Error::new(ErrorKind::NoSql)),
                };
                // Every attempt is an audit event, the refused and failed
                // ones too.
                self.attempt_event(ctx, trace, sql.as_deref(), &outcome)?;
                match outcome {
                    Ok(done) => {
                        trace.attempts.push(Attempt {
                            sql: sql.clone(),
                            error: None,
                        });
                        accepted = sql.map(|s| (s, done));
                        break;
                    }
                    Err(e) if repairable(&e) => {
                        let feedback = repair::feedback(&e, &self.names);
                        trace.attempts.push(Attempt {
                            sql,
                            error: Some(AttemptError {
                                code: e.code(),
                                feedback: feedback.clone(),
                            }),
                        });
                        messages.push(Message::assistant(reply));
                        messages.push(Message::user(fill(
                            REPAIR_PROMPT,
                            &[("error", feedback.as_str())],
                        )));
                        last_error = Some(e);
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        let Some((sql, (query, protected))) = accepted else {
            return Err(last_error.unwrap_or_else(|| Error::new(ErrorKind::NoSql)));
        };
        if !cached && trace.direct.is_none() {
            if let Ok(mut c) = self.cache.lock() {
                c.put(cache_key, sql.clone(), self.options.cache);
            }
        }
        add_hits(&mut trace.hits, &protected.detector_hits);
        trace.reports.clone_from(&protected.columns);
        for col in query.columns() {
            if !matches!(col.action.action, Action::Tokenize { .. } | Action::Scan) {
                continue;
            }
            if let Ok(c) = protected.frame.column(&col.name) {
                if c.dtype() == &DataType::String {
                    for v in texts(c)?.iter().flatten() {
                        issued.add_text(&self.tokens, v);
                    }
                }
            }
        }

        let model_answer = if self.options.write_answer {
            let user = self.answer_message(&scrubbed.text, &sql, &protected.frame);
            Some(self.call(
                ANSWER_PROMPT.to_string(),
                vec![Message::user(user)],
                self.options.answer_max_tokens,
                trace,
            )?)
        } else {
            None
        };

        let t = Instant::now();
        let mut revealed = 0;
        let no_classes = BTreeSet::new();
        let answer_segments = match &model_answer {
            Some(text) => {
                let (segments, n) = reveal::reveal(
                    &self.tokens,
                    text,
                    classes.unwrap_or(&no_classes),
                    &issued,
                    self.link_hosts.as_ref(),
                )?;
                revealed += n;
                Some(segments)
            }
            None => None,
        };
        let answer = answer_segments.as_deref().map(AnswerSegment::join);
        let rows = match classes {
            Some(classes) => {
                let (rows, n) = self.reveal_frame(&protected.frame, &query, classes, &issued)?;
                revealed += n;
                rows
            }
            None => protected.frame.clone(),
        };
        trace.timings.reveal = t.elapsed();

        Ok(ChatAnswer {
            answer,
            answer_segments,
            model_answer,
            question_sent: scrubbed.text,
            sql,
            columns: query.columns().to_vec(),
            model_rows: protected.frame,
            rows,
            attempts: Vec::new(),
            cached,
            model_calls: 0,
            usage: Usage::default(),
            detector_hits: BTreeMap::new(),
            revealed,
            timings: Timings::default(),
            direct: None,
            examples: Vec::new(),
        })
    }

    fn cache_key(&self, scrubbed: &str) -> String {
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        for part in [
            PROMPT_VERSION,
            self.policy.digest(),
            self.guard.dialect().name(),
            self.model.name(),
            scrubbed,
        ] {
            ctx.update(&(part.len() as u64).to_le_bytes());
            ctx.update(part.as_bytes());
        }
        data_encoding::HEXLOWER.encode(ctx.finish().as_ref())
    }

    /// One model call, timed and counted.
    fn call(
        &self,
        system: String,
        messages: Vec<Message>,
        max_tokens: u32,
        trace: &mut Trace,
    ) -> Result<String, Error> {
        let request = ModelRequest {
            system,
            messages,
            stop: Vec::new(),
            max_tokens,
            temperature: 0.0,
        };
        let t = Instant::now();
        let r = self.model.complete(&request);
        trace.timings.model += t.elapsed();
        trace.calls += 1;
        let r = r?;
        trace.usage += r.usage;
        Ok(r.text)
    }

    /// Guard, engine, protect.
    fn execute(
        &self,
        sql: &str,
        trace: &mut Trace,
        resolvable: &RequestTokens,
    ) -> Result<(GuardedQuery, Protected), Error> {
        let t = Instant::now();
        let q = self
            .guard
            .check_with(sql, &RequestResolver::new(&self.tokens, resolvable));
        trace.timings.guard += t.elapsed();
        let mut q = q?;
        let t = Instant::now();
        let mut rows = crate::engine::run(&*self.engine, &q);
        trace.timings.engine += t.elapsed();
        // A subject column that stopped being unique since the catalog was
        // read: `run` cleared the catalog's claim, so the same SQL checked
        // once more counts distinct subjects.
        let stale = |e: &Error| matches!(e.kind(), crate::ErrorKind::Engine { category } if *category == "stale_catalog");
        if rows.as_ref().is_err_and(stale) {
            let t = Instant::now();
            let again = self
                .guard
                .check_with(sql, &RequestResolver::new(&self.tokens, resolvable));
            trace.timings.guard += t.elapsed();
            let again = again?;
            if again
                .group_checks()
                .iter()
                .all(|c| c.unique_subject.is_none())
            {
                q = again;
                let t = Instant::now();
                rows = crate::engine::run(&*self.engine, &q);
                trace.timings.engine += t.elapsed();
            }
        }
        let rows = rows?;
        let t = Instant::now();
        // One vault lock and one append for the whole result.
        let out = self.tokens.batch(|tokens| {
            Protector::new(tokens, &self.detector, &self.protector_key)?.protect(rows, &q)
        });
        trace.timings.protect += t.elapsed();
        Ok((q, out?))
    }

    /// One attempt's audit event: the SQL the model wrote (literals
    /// digested) and what became of it.
    fn attempt_event(
        &self,
        ctx: &Context,
        trace: &Trace,
        sql: Option<&str>,
        outcome: &Result<(GuardedQuery, Protected), Error>,
    ) -> Result<(), Error> {
        let Some(sink) = &self.audit else {
            return Ok(());
        };
        let mut ev = AuditEvent {
            kind: "attempt".to_string(),
            actor: ctx.actor.clone(),
            request_id: trace.request_id.clone(),
            role: ctx.role.clone(),
            sql: sql.map(|s| self.digester.sql(s, Some(&self.tokens))),
            ..AuditEvent::default()
        };
        match outcome {
            Ok((_, p)) => {
                ev.decision = Some(Decision::Allowed);
                ev.rows = Some(p.frame.height() as u64);
            }
            Err(e) => ev.set_failure(e, Some(&self.digester)),
        }
        sink.record(ev)
    }

    fn answer_message(&self, question: &str, sql: &str, rows: &DataFrame) -> String {
        let shown = rows.height().min(self.options.answer_rows);
        let mut out = format!("Question: {question}\n\nSQL:\n{sql}\n\nResult: ");
        if shown < rows.height() {
            out.push_str(&format!(
                "{} rows, the first {shown} shown\n",
                rows.height()
            ));
        } else {
            out.push_str(&format!("{} rows\n", rows.height()));
        }
        let names: Vec<String> = rows
            .get_column_names()
            .iter()
            .map(|n| n.to_string())
            .collect();
        out.push_str(&names.join(" | "));
        out.push('\n');
        for i in 0..shown {
            let cells: Vec<String> = rows
                .columns()
                .iter()
                .map(|c| c.get(i).map(cell_text).unwrap_or_default())
                .collect();
            out.push_str(&cells.join(" | "));
            out.push('\n');
        }
        out
    }

    /// The rows with tokens revealed, in `tokenize` and `scan` columns: a
    /// cell gives back the text the data held (a `scan` cell's tokens are
    /// its own values), and only tokens issued for this request.
    fn reveal_frame(
        &self,
        frame: &DataFrame,
        query: &GuardedQuery,
        classes: &BTreeSet<TokenClass>,
        issued: &RequestTokens,
    ) -> Result<(DataFrame, usize), Error> {
        if classes.is_empty() {
            return Ok((frame.clone(), 0));
        }
        let mut out = frame.clone();
        let mut total = 0;
        for col in query.columns() {
            if !matches!(col.action.action, Action::Tokenize { .. } | Action::Scan) {
                continue;
            }
            let Ok(c) = frame.column(&col.name) else {
                continue;
            };
            if c.dtype() != &DataType::String {
                continue;
            }
            let ca = texts(c)?;
            let (revealed, _) = map_text(&ca, |v| {
                let (text, n) = self.tokens.reveal_only(v, classes, issued)?;
                total += n;
                Ok(text)
            })?;
            out.with_column(revealed.with_name(c.name().clone()).into_column())
                .map_err(|_| Error::usage("the revealed column does not fit the rows"))?;
        }
        Ok((out, total))
    }
}

fn add_hits(into: &mut BTreeMap<String, usize>, from: &BTreeMap<String, usize>) {
    for (k, v) in from {
        *into.entry(k.clone()).or_insert(0) += v;
    }
}

/// Failures the model may be able to fix by writing another query.
fn repairable(e: &Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::Refused(_) | ErrorKind::Engine { .. } | ErrorKind::NoSql
    )
}

fn cell_text(v: AnyValue<'_>) -> String {
    match v {
        AnyValue::Null => "NULL".to_string(),
        AnyValue::String(s) => s.to_string(),
        AnyValue::StringOwned(s) => s.to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::PolarsEngine;
    use crate::llm::ScriptedModel;
    use crate::tokens::MemoryVault;

    #[test]
    fn an_engine_text_never_reaches_the_model() {
        let policy = Policy::from_path("rules/sample.toml").unwrap();
        let engine = Arc::new(PolarsEngine::open("examples/data", &policy).unwrap());
        let model = Arc::new(ScriptedModel::new([""]));
        let chat = Chat::builder(policy, engine, model, MasterKey::from_bytes(&[1; 32]))
            .vault(Arc::new(MemoryVault::new()))
            .build()
            .unwrap();
        // A value with quotes inside, an SSN, a number printed bare by a
        // plan, and the column the model misspelt.
        let e = Error::engine(
            "data",
            r#"22007: invalid input syntax for type date: "John "Johnny" Doe" near 123-45-6789, dyn int: 482; unable to find column "segmnt""#.into(),
        );
        let f = repair::feedback(&e, &chat.names);
        for leaked in ["Johnny", "John", "123", "482", "segmnt"] {
            assert!(!f.contains(leaked), "{leaked} in {f}");
        }
        assert!(f.contains("(data error)"), "{f}");
        // The schema the model sees is what feedback may name; a denied
        // column is not in it.
        assert!(chat.names.contains("full_name") && chat.names.contains("customers"));
        assert!(!chat.names.contains("ssn") && !chat.names.contains("street"));
    }
}
