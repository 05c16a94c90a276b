//! A request's audit events: the `ask` event and one per attempt.

use super::context::Context;
use super::pipeline::{Chat, Trace};
use super::ChatAnswer;
use crate::audit::{AuditEvent, Decision, ExampleUse, ModelUsage, Redaction, Revealed};
use crate::error::Error;
use crate::guard::GuardedQuery;
use crate::protect::Protected;
use std::time::Duration;

impl Chat {
    pub(super) fn event(
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

    /// One attempt's audit event: the SQL the model wrote (literals
    /// digested) and what became of it.
    pub(super) fn attempt_event(
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
}
