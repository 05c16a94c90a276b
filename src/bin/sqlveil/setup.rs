//! What every command sets up: the data and its engine, the guard, the keys, the vault, the detector.

use crate::args::{KeyFile, Keys, Source};
use sqlveil::audit::AuditKey;
use sqlveil::detect::{Detector, KnownIndexStore, KnownPhase, KnownProgress, KnownValuesOptions};
use sqlveil::guard::{Guard, GuardBuilder};
use sqlveil::tokens::{FileVault, TokenVault, Tokens};
use sqlveil::{
    Engine, Error, ErrorKind, MasterKey, PolarsEngine, Policy, PostgresEngine, SparkEngine,
};
use std::io::Read;
use std::sync::Arc;

/// Where the data is: a folder of files, or a PostgreSQL server.
pub(crate) enum Data<'a> {
    Files(&'a std::path::Path),
    Postgres(String),
    Spark(String),
}

pub(crate) fn data(source: &Source) -> Result<Data<'_>, Error> {
    if let Some(dir) = &source.data {
        return Ok(Data::Files(dir));
    }
    let env = |name: &str| std::env::var(name).ok().filter(|u| !u.is_empty());
    if let Some(url) = source.pg.clone() {
        return Ok(Data::Postgres(url));
    }
    if let Some(url) = source.spark.clone() {
        return Ok(Data::Spark(url));
    }
    match (env("SQLVEIL_PG_URL"), env("SQLVEIL_SPARK_URL")) {
        (Some(url), _) => Ok(Data::Postgres(url)),
        (None, Some(url)) => Ok(Data::Spark(url)),
        (None, None) => Err(Error::from(ErrorKind::Usage(
            "no data is given: pass --data DIR (CSV, Parquet or NDJSON files), --pg URL or --spark URL (or set SQLVEIL_PG_URL or SQLVEIL_SPARK_URL)".into(),
        ))),
    }
}

/// The data folder, when the data is files.
pub(crate) fn data_dir(source: &Source) -> Option<&std::path::Path> {
    source.data.as_deref()
}

pub(crate) fn open(source: &Source) -> Result<(Policy, Arc<dyn Engine>), Error> {
    let policy = Policy::from_path(&source.rules)?;
    let engine: Arc<dyn Engine> = match data(source)? {
        Data::Files(dir) => Arc::new(PolarsEngine::open(dir, &policy)?),
        Data::Postgres(url) => Arc::new(PostgresEngine::connect(&url, &policy)?),
        Data::Spark(url) => Arc::new(SparkEngine::connect(&url, &policy)?),
    };
    Ok((policy, engine))
}

/// The guard for an engine's dialect.
pub(crate) fn guard_for(policy: &Policy, engine: &dyn Engine) -> Result<Guard, Error> {
    GuardBuilder::new()
        .dialect(engine.dialect())
        .build(policy, engine.catalog())
}

/// A detector that also knows the data's protected values. With a data
/// folder, the index is saved in `DIR/.sqlveil/` and read from there while
/// the data is unchanged. Building for more than a second prints progress on
/// stderr; warnings go there too (by name, never a value).
pub(crate) fn known_detector(
    policy: &Policy,
    engine: &dyn Engine,
    key: &MasterKey,
    dir: Option<&std::path::Path>,
) -> Result<Detector, Error> {
    let mut d = Detector::new(policy)?;
    d.known_values_options(&KnownValuesOptions::new());
    if let Some(dir) = dir {
        d.save_known_values(KnownIndexStore::new(dir.join(".sqlveil"), key)?);
    }
    let mut last: Option<std::time::Duration> = None;
    let mut progress = |p: &KnownProgress| {
        let second = std::time::Duration::from_secs(1);
        let early = p.elapsed < second || last.is_some_and(|l| p.elapsed < l + second);
        // The closing line comes whenever a line came before it.
        let closing = p.phase == KnownPhase::Done && last.is_some();
        if early && !closing {
            return;
        }
        last = Some(p.elapsed);
        let what = match &p.column {
            Some(c) => format!("{} of `{c}`", p.phase.as_str()),
            None => p.phase.as_str().to_string(),
        };
        eprintln!(
            "sqlveil: known values: {what} ({} of {} columns, {} values, {:.1} s)",
            p.columns_done,
            p.columns,
            p.values,
            p.elapsed.as_secs_f64()
        );
    };
    let report = d.refresh_with_progress(engine, &mut progress)?;
    for w in report.warnings {
        eprintln!("sqlveil: warning: {w}");
    }
    Ok(d)
}

/// Warns on stderr when a key file can be read by other users.
pub(crate) fn warn_key_file(path: &std::path::Path) {
    if let Some(w) = sqlveil::tokens::key_file_warning(path) {
        eprintln!("sqlveil: warning: {w}");
    }
}

/// The master key: `--key-file`, else SQLVEIL_KEY.
pub(crate) fn master_key(keys: &Keys) -> Result<MasterKey, Error> {
    match &keys.key_file {
        Some(f) => {
            warn_key_file(f);
            MasterKey::from_file(f)
        }
        None => MasterKey::from_env(),
    }
}

/// The master key where it is optional (`check`): `--key-file`, else
/// SQLVEIL_KEY when set; a malformed key is an error, never ignored.
pub(crate) fn optional_master_key(key: &KeyFile) -> Result<Option<MasterKey>, Error> {
    match &key.key_file {
        Some(f) => {
            warn_key_file(f);
            MasterKey::from_file(f).map(Some)
        }
        None if std::env::var_os(sqlveil::tokens::KEY_ENV).is_some_and(|v| !v.is_empty()) => {
            MasterKey::from_env().map(Some)
        }
        None => Ok(None),
    }
}

/// The audit chain's key: `--audit-key-file`, else SQLVEIL_AUDIT_KEY, else
/// the one derived from the master key, else none (an unkeyed log).
pub(crate) fn audit_key(
    audit_key_file: Option<&std::path::Path>,
    master: Option<&MasterKey>,
) -> Result<Option<AuditKey>, Error> {
    if let Some(f) = audit_key_file {
        warn_key_file(f);
        return AuditKey::from_file(f).map(Some);
    }
    if let Some(k) = AuditKey::from_env()? {
        return Ok(Some(k));
    }
    master.map(AuditKey::from_master).transpose()
}

/// The vault file given by `--vault`, if any.
pub(crate) fn vault(keys: &Keys, key: &MasterKey) -> Result<Option<Arc<dyn TokenVault>>, Error> {
    Ok(match &keys.vault {
        Some(path) => Some(Arc::new(FileVault::open(path, key)?)),
        None => None,
    })
}

pub(crate) fn tokens(policy: &Policy, keys: &Keys) -> Result<(MasterKey, Tokens), Error> {
    let key = master_key(keys)?;
    // Tokens::new refuses hash tokens without a vault.
    let tokens = Tokens::new(policy, key.clone(), vault(keys, &key)?)?;
    Ok((key, tokens))
}

/// Standard input as text; a read failure ends the process with exit 2.
pub(crate) fn stdin_text() -> String {
    let mut text = String::new();
    if let Err(e) = std::io::stdin().read_to_string(&mut text) {
        eprintln!("sqlveil: cannot read standard input: {e}");
        std::process::exit(2);
    }
    text
}

pub(crate) fn env_or(value: &Option<String>, var: &str) -> Option<String> {
    value
        .clone()
        .or_else(|| std::env::var(var).ok())
        .filter(|v| !v.is_empty())
}
