//! The pipeline: one question through scrub, prompt, model, guard, engine, protect, answer and reveal.

use super::answer::{Attempt, ChatAnswer, Timings};
use super::builder::Options;
use super::cache::Cache;
use super::context::Context;
use super::prompt::{fill, one_line, Schema, ANSWER_PROMPT, SQL_PROMPT};
use super::reveal::LinkHosts;
use super::{repair, reveal, AnswerSegment, DirectMatch, ExampleIndex, PROMPT_VERSION};
use crate::audit::{AuditSink, Digester};
use crate::detect::Detector;
use crate::engine::Engine;
use crate::error::Error;
use crate::guard::{Guard, GuardedQuery};
use crate::llm::{LanguageModel, Message, ModelRequest, Usage};
use crate::protect::{map_text, texts, ColumnReport, Protected, Protector};
use crate::rules::{Action, Policy, TokenClass};
use crate::tokens::{role_classes, MasterKey, RequestResolver, RequestTokens, Tokens};
use polars::prelude::{AnyValue, Column, DataFrame, DataType, IntoColumn};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// The chat pipeline. `Send + Sync`: one `Chat` serves concurrent requests.
///
/// # Example
/// ```
/// use std::sync::Arc;
/// use sqlveil::{Chat, Context, MasterKey, PolarsEngine, Policy};
/// use sqlveil::llm::ScriptedModel;
///
/// let policy = Policy::from_path("rules/sample.toml")?;
/// let engine = PolarsEngine::open("examples/data", &policy)?;
/// // An `Arc`, to look at the model's requests afterwards.
/// let model = Arc::new(ScriptedModel::new([
///     "```sql\nSELECT segment, COUNT(*) AS customers FROM customers GROUP BY segment ORDER BY segment\n```",
///     "There are three segments.",
/// ]));
/// let key = MasterKey::from_bytes(&[7; 32]);
/// let chat = Chat::builder(policy, engine, model.clone(), key).build()?;
///
/// let a = chat.ask("How many customers per segment?", Context::new("demo").role("analyst"))?;
/// assert_eq!(a.answer.as_deref(), Some("There are three segments."));
/// assert_eq!(a.rows.height(), 3);
/// // The model was asked twice: for the SQL, then for the answer.
/// assert_eq!(model.requests().len(), 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Chat {
    pub(super) policy: Policy,
    pub(super) engine: Arc<dyn Engine>,
    pub(super) model: Arc<dyn LanguageModel>,
    pub(super) guard: Guard,
    pub(super) tokens: Tokens,
    pub(super) detector: Arc<Detector>,
    pub(super) protector_key: MasterKey,
    pub(super) audit: Option<Arc<dyn AuditSink>>,
    pub(super) digester: Digester,
    pub(super) schema: Schema,
    pub(super) names: BTreeSet<String>,
    pub(super) options: Options,
    pub(super) link_hosts: Option<LinkHosts>,
    pub(super) cache: Mutex<Cache>,
    pub(super) examples: ExampleIndex,
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
pub(super) struct Trace {
    pub(super) request_id: String,
    pub(super) usage: Usage,
    pub(super) calls: u32,
    pub(super) last_sql: Option<String>,
    pub(super) attempts: Vec<Attempt>,
    pub(super) timings: Timings,
    pub(super) hits: BTreeMap<String, usize>,
    /// What protection did to each column of the accepted result.
    pub(super) reports: Vec<ColumnReport>,
    /// The direct example that answered.
    pub(super) direct: Option<DirectMatch>,
    /// The examples the prompt showed.
    pub(super) examples: Vec<String>,
}

/// A query that passed the guard and ran: the SQL as written, the guard's
/// query, and the rows as the model sees them.
pub(super) struct Accepted {
    pub(super) sql: String,
    pub(super) query: GuardedQuery,
    pub(super) protected: Protected,
    /// Whether the SQL came from the cache.
    pub(super) cached: bool,
}

/// What the user gets back: the answer and rows, tokens revealed for
/// their role.
struct ForUser {
    answer_segments: Option<Vec<AnswerSegment>>,
    rows: DataFrame,
    revealed: usize,
}

impl Chat {
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
    pub fn ask(&self, question: &str, ctx: impl Into<Context>) -> Result<ChatAnswer, Error> {
        let ctx = &ctx.into();
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

    /// The pipeline for one question; `trace` keeps what it did, for the
    /// audit event, whether it succeeds or not.
    fn run(&self, question: &str, ctx: &Context, trace: &mut Trace) -> Result<ChatAnswer, Error> {
        self.check_length(question)?;
        let classes = match &ctx.role {
            Some(r) => Some(role_classes(&self.policy, r)?),
            None => None,
        };
        let scrubbed = self.scrub_question(question, trace)?;
        // The tokens this request may reveal: those of the scrubbed question
        // now, those of the rows the model sees later.
        let mut issued = RequestTokens::new();
        issued.add_text(&self.tokens, &scrubbed);
        let accepted = self.accept(&scrubbed, ctx, trace, &issued)?;
        add_hits(&mut trace.hits, &accepted.protected.detector_hits);
        trace.reports.clone_from(&accepted.protected.columns);
        for c in token_columns(&accepted.query, &accepted.protected.frame) {
            for v in texts(c)?.iter().flatten() {
                issued.add_text(&self.tokens, v);
            }
        }
        let model_answer = self.write_answer(&scrubbed, &accepted, trace)?;

        let t = Instant::now();
        let shown = self.reveal_for_role(model_answer.as_deref(), classes, &issued, &accepted)?;
        trace.timings.reveal = t.elapsed();

        Ok(ChatAnswer {
            answer: shown.answer_segments.as_deref().map(AnswerSegment::join),
            answer_segments: shown.answer_segments,
            model_answer,
            question_sent: scrubbed,
            sql: accepted.sql,
            columns: accepted.query.columns().to_vec(),
            model_rows: accepted.protected.frame,
            rows: shown.rows,
            attempts: Vec::new(),
            cached: accepted.cached,
            model_calls: 0,
            usage: Usage::default(),
            detector_hits: BTreeMap::new(),
            revealed: shown.revealed,
            timings: Timings::default(),
            direct: None,
            examples: Vec::new(),
        })
    }

    /// Refuses a question longer than the options allow.
    fn check_length(&self, question: &str) -> Result<(), Error> {
        if question.len() > self.options.max_question_bytes {
            return Err(Error::usage(format!(
                "the question is {} bytes long, more than the {} allowed",
                question.len(),
                self.options.max_question_bytes
            )));
        }
        Ok(())
    }

    /// The question as the model sees it: its PII replaced by tokens.
    fn scrub_question(&self, question: &str, trace: &mut Trace) -> Result<String, Error> {
        let t = Instant::now();
        let scrubbed = self.tokens.batch(|t| self.detector.redact(question, t))?;
        add_hits(&mut trace.hits, &scrubbed.counts);
        trace.timings.scrub = t.elapsed();
        Ok(scrubbed.text)
    }

    /// The query that answers the question: a direct example's, the
    /// cache's, or the model's (repaired when it fails).
    fn accept(
        &self,
        scrubbed: &str,
        ctx: &Context,
        trace: &mut Trace,
        issued: &RequestTokens,
    ) -> Result<Accepted, Error> {
        let direct = self.try_direct(scrubbed, ctx, trace, issued)?;

        let t = Instant::now();
        let (system, shown) = if direct.is_some() {
            (String::new(), Vec::new())
        } else {
            self.sql_prompt_with(scrubbed)
        };
        trace.examples = shown;
        // The tokens the model's SQL may filter by: those it was shown.
        let mut resolvable = issued.clone();
        resolvable.add_text(&self.tokens, &system);
        let cache_key = self.cache_key(scrubbed);
        trace.timings.prompt = t.elapsed();

        if let Some(done) = direct {
            return Ok(done);
        }
        if let Some(done) = self.cached_query(&cache_key, trace, &resolvable) {
            return Ok(done);
        }
        let done = self.ask_for_sql(system, scrubbed, ctx, trace, &resolvable)?;
        if let Ok(mut c) = self.cache.lock() {
            c.put(cache_key, done.sql.clone(), self.options.cache);
        }
        Ok(done)
    }

    /// A direct example's query, when one matches the question: its SQL,
    /// slots filled with literals of the question's tokens, numbers and
    /// dates, through the same guard, engine and protection. When it fails,
    /// the failure is an attempt and the model is asked.
    fn try_direct(
        &self,
        scrubbed: &str,
        ctx: &Context,
        trace: &mut Trace,
        issued: &RequestTokens,
    ) -> Result<Option<Accepted>, Error> {
        let Some((m, sql)) =
            self.examples
                .direct(&self.tokens, scrubbed, self.options.direct_threshold)
        else {
            return Ok(None);
        };
        trace.last_sql = Some(sql.clone());
        let outcome = self.execute(&sql, trace, issued);
        self.attempt_event(ctx, trace, Some(&sql), &outcome)?;
        match outcome {
            Ok((query, protected)) => {
                trace.attempts.push(Attempt {
                    sql: Some(sql.clone()),
                    error: None,
                });
                trace.direct = Some(m);
                Ok(Some(Accepted {
                    sql,
                    query,
                    protected,
                    cached: false,
                }))
            }
            Err(e) if repair::repairable(&e) => {
                self.failed_attempt(trace, Some(sql), &e);
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// The cached query for the question, when it still passes the guard
    /// and runs; one that fails (the data or the catalog changed under it)
    /// leaves the cache, and the model is asked again.
    fn cached_query(
        &self,
        cache_key: &str,
        trace: &mut Trace,
        resolvable: &RequestTokens,
    ) -> Option<Accepted> {
        let sql = self.cache.lock().ok().and_then(|c| c.get(cache_key))?;
        trace.last_sql = Some(sql.clone());
        match self.execute(&sql, trace, resolvable) {
            Ok((query, protected)) => Some(Accepted {
                sql,
                query,
                protected,
                cached: true,
            }),
            Err(_) => {
                if let Ok(mut c) = self.cache.lock() {
                    c.remove(cache_key);
                }
                None
            }
        }
    }

    /// The model's answer, written from the protected rows, when answer
    /// writing is on.
    fn write_answer(
        &self,
        scrubbed: &str,
        accepted: &Accepted,
        trace: &mut Trace,
    ) -> Result<Option<String>, Error> {
        if !self.options.write_answer {
            return Ok(None);
        }
        let user = self.answer_message(scrubbed, &accepted.sql, &accepted.protected.frame);
        let text = self.call(
            ANSWER_PROMPT.to_string(),
            vec![Message::user(user)],
            self.options.answer_max_tokens,
            trace,
        )?;
        Ok(Some(text))
    }

    /// The answer and rows for the user: the tokens issued for this request
    /// revealed for the role's classes (none without a role).
    fn reveal_for_role(
        &self,
        model_answer: Option<&str>,
        classes: Option<&BTreeSet<TokenClass>>,
        issued: &RequestTokens,
        accepted: &Accepted,
    ) -> Result<ForUser, Error> {
        let mut revealed = 0;
        let no_classes = BTreeSet::new();
        let answer_segments = match model_answer {
            Some(text) => {
                let (segments, n) = reveal::reveal(
                    &self.tokens,
                    text,
                    classes.unwrap_or(&no_classes),
                    issued,
                    self.link_hosts.as_ref(),
                )?;
                revealed += n;
                Some(segments)
            }
            None => None,
        };
        let frame = &accepted.protected.frame;
        let rows = match classes {
            Some(classes) => {
                let (rows, n) = self.reveal_frame(frame, &accepted.query, classes, issued)?;
                revealed += n;
                rows
            }
            None => frame.clone(),
        };
        Ok(ForUser {
            answer_segments,
            rows,
            revealed,
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
    pub(super) fn call(
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
    pub(super) fn execute(
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
        for c in token_columns(query, frame) {
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

/// The text columns of a result whose cells may hold tokens to reveal:
/// the `tokenize` and `scan` ones.
fn token_columns<'a>(
    query: &'a GuardedQuery,
    frame: &'a DataFrame,
) -> impl Iterator<Item = &'a Column> + 'a {
    query
        .columns()
        .iter()
        .filter(|col| matches!(col.action, Action::Tokenize { .. } | Action::Scan))
        .filter_map(|col| frame.column(&col.name).ok())
        .filter(|c| c.dtype() == &DataType::String)
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
    use crate::llm::ScriptedModel;
    use crate::tokens::MemoryVault;
    use crate::PolarsEngine;

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
