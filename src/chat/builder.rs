//! The pipeline's builder and its options; building reads sample values.

use super::cache::Cache;
use super::pipeline::Chat;
use super::prompt::{SampleValues, Schema};
use super::reveal::LinkHosts;
use super::{ExampleIndex, ExampleSet};
use crate::audit::{AuditSink, Digester};
use crate::detect::{Detector, KnownValuesOptions};
use crate::engine::Engine;
use crate::error::Error;
use crate::guard::{Guard, GuardBuilder};
use crate::llm::LanguageModel;
use crate::rules::{Action, Policy};
use crate::schema::ColumnType;
use crate::tokens::{MasterKey, MemoryVault, TokenVault, Tokens};
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

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
pub(super) struct Options {
    pub(super) max_repairs: u32,
    pub(super) write_answer: bool,
    pub(super) cache: usize,
    pub(super) schema_budget: usize,
    pub(super) sample_values: usize,
    pub(super) answer_rows: usize,
    pub(super) sql_max_tokens: u32,
    pub(super) answer_max_tokens: u32,
    pub(super) max_question_bytes: usize,
    pub(super) link_hosts: Option<Vec<String>>,
    pub(super) examples_in_prompt: usize,
    pub(super) direct_threshold: f64,
    pub(super) order_key: Option<[u8; 16]>,
}

impl ChatBuilder {
    /// The vault that keeps `hash` tokens' values (`sealed` tokens need
    /// none). Default: a [`MemoryVault`], which keeps them only as long as
    /// the process runs: a token an answer or a log holds cannot be revealed
    /// after a restart, nor by another process. Give a
    /// [`FileVault`](crate::tokens::FileVault) (or a vault of your own) when
    /// tokens must outlive the process.
    pub fn vault(mut self, vault: impl TokenVault + 'static) -> ChatBuilder {
        self.vault = Some(Arc::new(vault));
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
    /// (default on). Off, [`ChatAnswer::answer`](crate::ChatAnswer::answer) is `None` and the rows are
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
    /// A key that cannot be derived, an engine
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
        let mut guard = GuardBuilder::new().dialect(self.engine.dialect());
        if let Some(k) = self.options.order_key {
            guard = guard.order_key(k);
        }
        let guard = guard.build(&self.policy, self.engine.catalog())?;
        // Without a vault of the caller's, `hash` tokens live in memory.
        let vault = self
            .vault
            .unwrap_or_else(|| Arc::new(MemoryVault::new()) as Arc<dyn TokenVault>);
        let tokens = Tokens::new(&self.policy, self.key.clone(), Some(vault))?;
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
        let examples = ExampleIndex::build(
            &self.examples,
            &self.policy,
            &guard,
            &detector,
            &self.key,
            self.engine.as_ref(),
        )?;
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
pub(super) fn samples(
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

impl Chat {
    /// A pipeline from the rules, an engine, a model and the master key,
    /// with every default: `Chat::builder(policy, engine, model,
    /// key).build()`. `hash` tokens then live in a [`MemoryVault`] (see
    /// [`ChatBuilder::vault`]).
    ///
    /// # Errors
    /// As [`ChatBuilder::build`].
    pub fn new(
        policy: Policy,
        engine: impl Engine + 'static,
        model: impl LanguageModel + 'static,
        key: MasterKey,
    ) -> Result<Chat, Error> {
        Chat::builder(policy, engine, model, key).build()
    }

    /// A builder from the rules, an engine, a model and the master key. The
    /// engine and the model are taken by value; pass an `Arc` of either to
    /// keep a handle of your own.
    pub fn builder(
        policy: Policy,
        engine: impl Engine + 'static,
        model: impl LanguageModel + 'static,
        key: MasterKey,
    ) -> ChatBuilder {
        ChatBuilder {
            policy,
            engine: Arc::new(engine),
            model: Arc::new(model),
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
}
