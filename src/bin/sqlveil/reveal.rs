//! `sqlveil reveal`: turns tokens in text back into values for a role.

use crate::args::{AuditArgs, Keys};
use crate::auditor::Auditor;
use crate::output::print;
use crate::setup::{stdin_text, tokens};
use serde_json::json;
use sqlveil::audit::{Decision, Revealed};
use sqlveil::tokens::role_classes;
use sqlveil::{Error, Policy};

pub(crate) fn reveal(
    rules: &std::path::Path,
    role: &str,
    audit: &AuditArgs,
    keys: &Keys,
) -> Result<u8, Error> {
    let policy = Policy::from_path(rules)?;
    let classes = role_classes(&policy, role)?;
    let (key, tokens) = tokens(&policy, keys)?;
    let auditor = Auditor::new(audit, "reveal", Some(&key), &policy)?;
    let text = stdin_text();
    let result = tokens.reveal(&text, classes);
    let mut ev = auditor.event(None, None, None);
    ev.role = Some(role.to_string());
    match &result {
        Ok((_, n)) => {
            ev.decision = Some(Decision::Allowed);
            ev.revealed = Some(Revealed {
                classes: classes.iter().map(|c| c.as_str().to_string()).collect(),
                tokens: *n as u64,
            });
        }
        Err(e) => auditor.failed(&mut ev, e),
    }
    auditor.record(ev)?;
    let (out, n) = result?;
    print(&json!({ "text": out, "revealed": n }));
    Ok(0)
}
