//! The repair loop: the model writes SQL, and a refusal, an engine error or
//! an answer without SQL goes back to it, a bounded number of times.
//!
//! What a failed attempt sends back: fixed sentences and the names of the
//! schema the model already sees, never text the model wrote or an engine
//! printed. Nothing here runs a detector: a detector run over the model's
//! own text would hand it tokens of the values it guessed.

use std::collections::BTreeSet;

use super::answer::{Attempt, AttemptError};
use super::context::Context;
use super::extract::extract_sql;
use super::pipeline::{Accepted, Chat, Trace};
use super::prompt::{fill, REPAIR_PROMPT};
use crate::error::{Error, ErrorKind};
use crate::llm::Message;
use crate::tokens::RequestTokens;

impl Chat {
    /// Asks the model for SQL and sends each repairable failure back with
    /// its feedback, `max_repairs` times at most. Every attempt is an audit
    /// event, the refused and failed ones too.
    pub(super) fn ask_for_sql(
        &self,
        system: String,
        scrubbed: &str,
        ctx: &Context,
        trace: &mut Trace,
        resolvable: &RequestTokens,
    ) -> Result<Accepted, Error> {
        let mut messages = vec![Message::user(format!("Question: {scrubbed}"))];
        let mut last_error = None;
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
                Some(s) => self.execute(s, trace, resolvable),
                None => Err(Error::new(ErrorKind::NoSql)),
            };
            self.attempt_event(ctx, trace, sql.as_deref(), &outcome)?;
            match outcome {
                Ok((query, protected)) => {
                    trace.attempts.push(Attempt {
                        sql: sql.clone(),
                        error: None,
                    });
                    // Always set: an answer without SQL is an error.
                    if let Some(sql) = sql {
                        return Ok(Accepted {
                            sql,
                            query,
                            protected,
                            cached: false,
                        });
                    }
                    break;
                }
                Err(e) if repairable(&e) => {
                    let feedback = self.failed_attempt(trace, sql, &e);
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
        Err(last_error.unwrap_or_else(|| Error::new(ErrorKind::NoSql)))
    }

    /// Records a failed attempt in the trace; returns the feedback the model
    /// is sent for it.
    pub(super) fn failed_attempt(
        &self,
        trace: &mut Trace,
        sql: Option<String>,
        e: &Error,
    ) -> String {
        let feedback = feedback(e, &self.names);
        trace.attempts.push(Attempt {
            sql,
            error: Some(AttemptError {
                code: e.code(),
                feedback: feedback.clone(),
            }),
        });
        feedback
    }
}

/// Failures the model may be able to fix by writing another query.
pub(super) fn repairable(e: &Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::Refused(_) | ErrorKind::Engine { .. } | ErrorKind::NoSql
    )
}

/// The feedback for a failed attempt. `visible` holds the lowercase names
/// of the tables and columns the model's schema shows.
pub(crate) fn feedback(e: &Error, visible: &BTreeSet<String>) -> String {
    let shown = |name: &str| {
        !name.is_empty()
            && name
                .split('.')
                .all(|part| visible.contains(&part.to_lowercase()))
    };
    match e.kind() {
        ErrorKind::Refused(r) => {
            // A denied column is not in the model's schema: it reads as an
            // unknown one, so that feedback never confirms a guessed name.
            let reason = match r.reason() {
                crate::error::Reason::DeniedColumn => crate::error::Reason::UnknownColumn,
                other => other,
            };
            let mut out = reason.hint().to_string();
            if let Some(c) = r.column_name().filter(|c| shown(c)) {
                out.push_str(&format!(" Column: `{c}`."));
            }
            if let Some(c) = r.construct_name().filter(|c| safe_construct(c, visible)) {
                out.push_str(&format!(" Construct: {c}."));
            }
            if let Some(s) = r.suggestion().filter(|s| shown(s)) {
                out.push_str(&format!(" Did you mean `{s}`?"));
            }
            if let Some(a) = r.advice() {
                out.push_str(&format!(" Instead: {a}."));
            }
            out
        }
        ErrorKind::Engine { category } => format!(
            "The engine could not run the query ({category} error). Check the types of compared values and that every function gets arguments of the right type."
        ),
        ErrorKind::NoSql => {
            "The answer held no SQL query. Answer with one SELECT statement in a ```sql block."
                .to_string()
        }
        _ => "The query could not run.".to_string(),
    }
}

/// A construct may be named when each of its words is a SQL keyword, a
/// function the guard knows, or a name of the visible schema.
fn safe_construct(c: &str, visible: &BTreeSet<String>) -> bool {
    c.split(|ch: char| !ch.is_ascii_alphanumeric() && ch != '_')
        .filter(|w| !w.is_empty())
        .all(|w| {
            let lower = w.to_ascii_lowercase();
            sqlparser::keywords::ALL_KEYWORDS.contains(&w.to_ascii_uppercase().as_str())
                || crate::guard::is_function_name(&lower)
                || visible.contains(&lower)
                || w.bytes().all(|b| b.is_ascii_digit())
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::guard::{Reason, Refusal};

    fn visible() -> BTreeSet<String> {
        ["customers", "city", "full_name"]
            .into_iter()
            .map(String::from)
            .collect()
    }

    #[test]
    fn model_text_and_engine_text_never_come_back() {
        // A name the model guessed, quoted as a column: not a schema name.
        let e = Error::from(
            Refusal::new(
                Reason::UnknownColumn,
                "column `Charles Garcia` does not exist",
            )
            .column("Charles Garcia")
            .construct("Charles Garcia")
            .suggest(Some("Charles".into())),
        );
        let f = feedback(&e, &visible());
        assert!(!f.contains("Charles"), "{f}");
        assert!(f.contains("not in the schema"), "{f}");
        // An engine's text is never used.
        let e = Error::engine(
            "compute",
            "conversion failed for 'Harriet Cromusshaw' 123-45-6789".into(),
        );
        let f = feedback(&e, &visible());
        assert!(!f.contains("Harriet") && !f.contains("123-45"), "{f}");
        assert!(f.contains("compute"), "{f}");
    }

    /// Second review, F3: a denied column the model guessed gets the same
    /// sentence as a made-up one.
    #[test]
    fn a_denied_column_reads_as_an_unknown_one() {
        let denied = Error::from(
            Refusal::new(Reason::DeniedColumn, "column `customers.ssn` is denied")
                .column("customers.ssn")
                .construct("ssn"),
        );
        let unknown = Error::from(
            Refusal::new(Reason::UnknownColumn, "column `sssn` does not exist").column("sssn"),
        );
        assert_eq!(
            feedback(&denied, &visible()),
            feedback(&unknown, &visible())
        );
    }

    #[test]
    fn schema_names_and_advice_come_back() {
        let e = Error::from(
            Refusal::new(Reason::UnknownColumn, "column `citty` does not exist")
                .column("citty")
                .suggest(Some("city".into())),
        );
        let f = feedback(&e, &visible());
        assert!(f.contains("Did you mean `city`?"), "{f}");
        assert!(!f.contains("citty"), "{f}");
        let e = Error::from(
            Refusal::new(Reason::ProtectedOrdering, "…")
                .column("customers.full_name")
                .construct("ORDER BY")
                .advise("order by a shown column"),
        );
        let f = feedback(&e, &visible());
        assert!(f.contains("`customers.full_name`"), "{f}");
        assert!(f.contains("Construct: ORDER BY."), "{f}");
        assert!(f.contains("Instead: order by a shown column."), "{f}");
        // A denied column is not named back.
        let e = Error::from(Refusal::new(Reason::DeniedColumn, "…").column("customers.ssn"));
        assert!(!feedback(&e, &visible()).contains("ssn"));
    }
}
