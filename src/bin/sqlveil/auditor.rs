//! The audit event of one command run, recorded when `--audit` is given.

use crate::args::AuditArgs;
use crate::setup::audit_key;
use sqlveil::audit::AuditSink;
use sqlveil::audit::{AuditEvent, AuditLog, AuditLogBuilder, Digester};
use sqlveil::tokens::TokenResolver;
use sqlveil::{Error, MasterKey, Policy};

/// Builds and records this request's audit event, when `--audit` is given.
pub(crate) struct Auditor {
    log: Option<AuditLog>,
    digester: Option<Digester>,
    rules_digest: String,
    kind: &'static str,
    actor: String,
    request_id: String,
    start: std::time::Instant,
}

impl Auditor {
    pub(crate) fn new(
        args: &AuditArgs,
        kind: &'static str,
        key: Option<&MasterKey>,
        policy: &Policy,
    ) -> Result<Auditor, Error> {
        let log = match &args.audit {
            Some(path) => {
                let k = audit_key(args.audit_key_file.as_deref(), key)?;
                Some(AuditLogBuilder::new().open_with(path, k.as_ref())?)
            }
            None => None,
        };
        let digester = match key {
            Some(k) => Some(Digester::new(k, policy)?),
            None => None,
        };
        let request_id = args
            .request_id
            .clone()
            .unwrap_or_else(sqlveil::audit::new_request_id);
        Ok(Auditor {
            log,
            digester,
            rules_digest: policy.digest().to_string(),
            kind,
            actor: args.actor.clone(),
            request_id,
            start: std::time::Instant::now(),
        })
    }

    pub(crate) fn event(
        &self,
        sql: Option<&str>,
        text: Option<&str>,
        resolver: Option<&dyn TokenResolver>,
    ) -> AuditEvent {
        // The digests go only to the log: without one, they are not
        // computed (a keyed hash of a whole scanned text is not free).
        let digester = self.digester.as_ref().filter(|_| self.log.is_some());
        AuditEvent {
            kind: self.kind.to_string(),
            actor: self.actor.clone(),
            request_id: self.request_id.clone(),
            sql: match (sql, digester) {
                (Some(s), Some(d)) => Some(d.sql(s, resolver)),
                _ => None,
            },
            question_digest: match (text, digester) {
                (Some(t), Some(d)) => Some(d.digest(t)),
                _ => None,
            },
            rules_digest: Some(self.rules_digest.clone()),
            ..AuditEvent::default()
        }
    }

    /// An output column's name as logged: the name is the model's or the
    /// user's alias and can hold anything, so it goes through the digester
    /// (policy names stay), or is logged as its position without a key.
    pub(crate) fn column_name(&self, i: usize, name: &str) -> String {
        match &self.digester {
            Some(d) => d.name(name),
            None => format!("#{}", i + 1),
        }
    }

    pub(crate) fn failed(&self, ev: &mut AuditEvent, e: &Error) {
        // Names in a refusal come from the model's SQL: logged through the
        // digester, or not at all without a key.
        ev.set_failure(e, self.digester.as_ref());
    }

    /// Records the event; a request whose event cannot be written fails.
    pub(crate) fn record(&self, mut ev: AuditEvent) -> Result<(), Error> {
        ev.duration_ms = self.start.elapsed().as_secs_f64() * 1000.0;
        match &self.log {
            Some(log) => log.record(ev),
            None => Ok(()),
        }
    }
}
