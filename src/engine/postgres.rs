//! The PostgreSQL engine: guarded SQL on a real database server.

use std::str::FromStr;
use std::sync::Mutex;
use std::time::Duration;

use ::polars::prelude::{DataFrame, DataType, IntoColumn, NamedFrom, Series, TimeUnit};
use postgres::types::{FromSql, Type};
use postgres::{Client, Config, NoTls};

use super::{catalog_column, quote_ident, quote_table, Engine};
use crate::error::{Error, ErrorKind};
use crate::rules::Policy;
use crate::schema::{Catalog, CatalogColumn, CatalogTable, ColumnType, Dialect};

/// Builds a [`PostgresEngine`].
#[derive(Debug, Clone)]
pub struct PostgresEngineBuilder {
    pool_size: usize,
    statement_timeout: Duration,
    connect_timeout: Duration,
    planner: Vec<(String, bool)>,
}

impl Default for PostgresEngineBuilder {
    fn default() -> PostgresEngineBuilder {
        PostgresEngineBuilder {
            pool_size: 4,
            statement_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            planner: Vec::new(),
        }
    }
}

impl PostgresEngineBuilder {
    /// How many connections are kept open for reuse (default 4). More are
    /// opened when more requests run at once; only this many are kept.
    pub fn pool_size(mut self, n: usize) -> PostgresEngineBuilder {
        self.pool_size = n.max(1);
        self
    }

    /// The server-side `statement_timeout` of every query (default 30 s).
    pub fn statement_timeout(mut self, t: Duration) -> PostgresEngineBuilder {
        self.statement_timeout = t;
        self
    }

    /// How long connecting may take (default 10 s).
    pub fn connect_timeout(mut self, t: Duration) -> PostgresEngineBuilder {
        self.connect_timeout = t;
        self
    }

    /// Sets a planner switch (`enable_hashagg`, `enable_hashjoin`, …: a
    /// name `enable_…`) in every query's transaction. Tests use it to force
    /// sort-based plans; an operator can use it to steer plans. A name that
    /// is not a planner switch is an error at [`connect`](Self::connect).
    pub fn planner_setting(mut self, name: &str, on: bool) -> PostgresEngineBuilder {
        self.planner.push((name.to_string(), on));
        self
    }

    /// Connects to the server at `url` (`postgresql://user:password@host:port/db`)
    /// and reads the columns of the tables the policy names, from the
    /// catalog: `schema.table`, or a bare name in schema `public`.
    ///
    /// # Errors
    /// A malformed URL, a server that cannot be reached, a refused login, an
    /// unknown database ([`ErrorKind::Connection`]); a catalog query failing.
    pub fn connect(&self, url: &str, policy: &Policy) -> Result<PostgresEngine, Error> {
        let mut settings = String::new();
        for (name, on) in &self.planner {
            let ok = name.strip_prefix("enable_").is_some_and(|rest| {
                !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
            });
            if !ok {
                return Err(Error::usage(format!(
                    "`{name}` is not a PostgreSQL planner switch (enable_…)"
                )));
            }
            settings.push_str(&format!(
                "; SET LOCAL {name} = {}",
                if *on { "on" } else { "off" }
            ));
        }
        let mut config = Config::from_str(url).map_err(|_| {
            Error::new(ErrorKind::Connection {
                target: "the PostgreSQL URL".to_string(),
                reason: "it is not a valid connection URL (postgresql://user:password@host:port/database)".to_string(),
            })
        })?;
        config.connect_timeout(self.connect_timeout);
        let target = describe(&config);
        let engine = PostgresEngine {
            config,
            target,
            pool: Mutex::new(Vec::new()),
            pool_size: self.pool_size,
            // The server's setting is a 32-bit count of milliseconds.
            timeout_ms: self
                .statement_timeout
                .as_millis()
                .clamp(1, i32::MAX as u128),
            settings,
            catalog: Catalog::new(Vec::new()),
        };
        let mut client = engine.connect_one()?;
        let mut tables = Vec::new();
        for t in policy.tables() {
            let (schema, name) = match t.name.split_once('.') {
                Some((s, n)) => (s, n),
                None => ("public", t.name.as_str()),
            };
            let rows = client
                .query(
                    "SELECT column_name::text, data_type::text, udt_name::text \
                     FROM information_schema.columns \
                     WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position",
                    &[&schema, &name],
                )
                .map_err(|e| engine_error(&e))?;
            if rows.is_empty() {
                continue;
            }
            let mut columns = Vec::with_capacity(rows.len());
            for r in rows {
                let col: String = r.try_get(0).map_err(|e| engine_error(&e))?;
                let ty: String = r.try_get(1).map_err(|e| engine_error(&e))?;
                let udt: String = r.try_get(2).map_err(|e| engine_error(&e))?;
                columns.push(CatalogColumn {
                    name: col,
                    ty: column_type(&ty, &udt),
                });
            }
            tables.push(CatalogTable {
                name: t.name.clone(),
                columns,
            });
        }
        engine.give_back(client);
        Ok(PostgresEngine {
            catalog: Catalog::new(tables),
            ..engine
        })
    }
}

/// An [`Engine`] on a PostgreSQL server (feature `postgres`).
///
/// Every query runs in a `READ ONLY` transaction with a
/// `statement_timeout`, on a connection from a small pool. Connect as a
/// role that has `SELECT` on the policy's tables and nothing else (see the
/// README): the guard admits only reads, and the server refuses writes a
/// second time.
///
/// Results are converted to the same `DataFrame` as the polars engine's:
/// text, integers, numerics (as floats), floats, booleans, dates,
/// timestamps with and without time zone (as UTC), NULLs. Another type in a
/// result is an engine error that names the column and the type.
///
/// # Example
/// ```no_run
/// use sqlveil::{Engine, Policy, PostgresEngine};
/// use sqlveil::guard::GuardBuilder;
///
/// let policy = Policy::from_path("rules/sample.toml")?;
/// let engine = PostgresEngine::connect("postgresql://sqlveil_reader@127.0.0.1:5432/shop", &policy)?;
/// let guard = GuardBuilder::new().dialect(engine.dialect()).build(&policy, engine.catalog())?;
/// let q = guard.check("SELECT city, COUNT(*) AS n FROM customers GROUP BY city")?;
/// println!("{}", sqlveil::run(&engine, &q)?);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct PostgresEngine {
    config: Config,
    target: String,
    pool: Mutex<Vec<Client>>,
    pool_size: usize,
    timeout_ms: u128,
    /// `; SET LOCAL enable_… = on|off` for each planner switch.
    settings: String,
    catalog: Catalog,
}

impl std::fmt::Debug for PostgresEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The password is never printed.
        f.debug_struct("PostgresEngine")
            .field("target", &self.target)
            .field("pool_size", &self.pool_size)
            .field("statement_timeout_ms", &self.timeout_ms)
            .finish_non_exhaustive()
    }
}

/// `user@host:port/db`, without the password.
fn describe(config: &Config) -> String {
    let host = config
        .get_hosts()
        .first()
        .map(|h| match h {
            postgres::config::Host::Tcp(h) => h.clone(),
            #[cfg(unix)]
            postgres::config::Host::Unix(p) => p.display().to_string(),
        })
        .unwrap_or_else(|| "localhost".to_string());
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!(
        "{}@{host}:{port}/{}",
        config.get_user().unwrap_or("?"),
        config.get_dbname().unwrap_or("?")
    )
}

fn column_type(data_type: &str, udt_name: &str) -> ColumnType {
    match data_type {
        "text" | "character varying" | "character" | "name" | "uuid" => ColumnType::Text,
        // Extension types report USER-DEFINED; citext is text.
        "USER-DEFINED" if udt_name == "citext" => ColumnType::Text,
        "smallint" | "integer" | "bigint" => ColumnType::Integer,
        "numeric" | "real" | "double precision" => ColumnType::Float,
        "boolean" => ColumnType::Boolean,
        "date" => ColumnType::Date,
        "timestamp without time zone" | "timestamp with time zone" => ColumnType::Datetime,
        other => ColumnType::Other(other.to_string()),
    }
}

/// A coarse, value-free category for a server error, from its SQLSTATE.
fn category(e: &postgres::Error) -> &'static str {
    let Some(db) = e.as_db_error() else {
        return if e.is_closed() {
            "connection"
        } else {
            "client"
        };
    };
    let code = db.code().code();
    match code {
        "57014" => "timeout",
        "25006" => "read_only",
        "42703" => "column_not_found",
        "42P01" => "table_not_found",
        "42883" => "function_not_found",
        "42501" => "permission_denied",
        _ if code.starts_with("22") => "data",
        _ if code.starts_with("42") => "syntax",
        _ => "server",
    }
}

fn engine_error(e: &postgres::Error) -> Error {
    // The server's message can quote values ("invalid input syntax for type
    // integer: \"…\""): it is kept as the less-safe detail only.
    let detail = match e.as_db_error() {
        Some(db) => format!("{}: {}", db.code().code(), db.message()),
        None => e.to_string(),
    };
    Error::engine(category(e), detail)
}

fn connection_error(target: &str, e: &postgres::Error) -> Error {
    let reason = match e.as_db_error().map(|d| d.code().code()) {
        Some("28P01") | Some("28000") => {
            "the server refused the login (wrong user or password)".to_string()
        }
        Some("3D000") => "the database does not exist".to_string(),
        Some("53300") => "the server has no free connection slot".to_string(),
        Some(code) => format!("the server refused the connection (SQLSTATE {code})"),
        None => "the server cannot be reached (is it running, and is the host and port right?)"
            .to_string(),
    };
    Error::new(ErrorKind::Connection {
        target: target.to_string(),
        reason,
    })
}

impl PostgresEngine {
    /// Connects with the default settings; see [`PostgresEngine::builder`].
    ///
    /// # Errors
    /// As [`PostgresEngineBuilder::connect`].
    pub fn connect(url: &str, policy: &Policy) -> Result<PostgresEngine, Error> {
        PostgresEngineBuilder::default().connect(url, policy)
    }

    /// A builder for the pool size and the timeouts.
    pub fn builder() -> PostgresEngineBuilder {
        PostgresEngineBuilder::default()
    }

    /// The server, as `user@host:port/database` (no password).
    pub fn target(&self) -> &str {
        &self.target
    }

    fn connect_one(&self) -> Result<Client, Error> {
        self.config
            .connect(NoTls)
            .map_err(|e| connection_error(&self.target, &e))
    }

    fn take(&self) -> Result<Client, Error> {
        let pooled = self.pool.lock().ok().and_then(|mut p| p.pop());
        match pooled {
            Some(c) if !c.is_closed() => Ok(c),
            _ => self.connect_one(),
        }
    }

    fn give_back(&self, client: Client) {
        if client.is_closed() {
            return;
        }
        if let Ok(mut p) = self.pool.lock() {
            if p.len() < self.pool_size {
                p.push(client);
            }
        }
    }

    fn run_sql(&self, client: &mut Client, sql: &str, max_rows: u64) -> Result<DataFrame, Error> {
        let mut tx = client
            .build_transaction()
            .read_only(true)
            .start()
            .map_err(|e| engine_error(&e))?;
        // The session's own settings are not trusted: backslashes must not
        // escape quotes in the guard's literals, and bare table names must
        // mean `public` (the schema the catalog was read from), with the
        // built-in functions found before any of the same name in `public`.
        tx.batch_execute(&format!(
            "SET LOCAL statement_timeout = {}; SET LOCAL standard_conforming_strings = on; \
             SET LOCAL search_path = pg_catalog, public{}",
            self.timeout_ms, self.settings
        ))
        .map_err(|e| engine_error(&e))?;
        let stmt = tx.prepare(sql).map_err(|e| engine_error(&e))?;
        let cap = usize::try_from(max_rows).unwrap_or(usize::MAX);
        let mut rows = tx.query(&stmt, &[]).map_err(|e| engine_error(&e))?;
        rows.truncate(cap);
        tx.rollback().map_err(|e| engine_error(&e))?;
        let mut columns = Vec::with_capacity(stmt.columns().len());
        for (i, c) in stmt.columns().iter().enumerate() {
            columns.push(convert(&rows, i, c.name(), c.type_())?.into_column());
        }
        DataFrame::new_infer_height(columns).map_err(|e| Error::engine("schema", e.to_string()))
    }
}

/// Reads column `i` of the rows as a value of type `T`.
fn read<'a, T: FromSql<'a>>(
    rows: &'a [postgres::Row],
    i: usize,
    name: &str,
) -> Result<Vec<Option<T>>, Error> {
    rows.iter()
        .map(|r| r.try_get::<_, Option<T>>(i))
        .collect::<Result<_, _>>()
        .map_err(|_| {
            Error::engine(
                "schema",
                format!("column `{name}` could not be read as its declared type"),
            )
        })
}

/// One result column as a polars series.
fn convert(rows: &[postgres::Row], i: usize, name: &str, ty: &Type) -> Result<Series, Error> {
    let n = name.into();
    Ok(match *ty {
        Type::BOOL => Series::new(n, read::<bool>(rows, i, name)?),
        Type::INT2 => Series::new(n, each(read::<i16>(rows, i, name)?, i64::from)),
        Type::INT4 => Series::new(n, each(read::<i32>(rows, i, name)?, i64::from)),
        Type::INT8 => Series::new(n, read::<i64>(rows, i, name)?),
        Type::FLOAT4 => Series::new(n, each(read::<f32>(rows, i, name)?, f64::from)),
        Type::FLOAT8 => Series::new(n, read::<f64>(rows, i, name)?),
        Type::NUMERIC => Series::new(n, each(read::<Numeric>(rows, i, name)?, |x| x.0)),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN => {
            Series::new(n, read::<String>(rows, i, name)?)
        }
        ref t if TextLike::accepts(t) => {
            Series::new(n, each(read::<TextLike>(rows, i, name)?, |t| t.0))
        }
        Type::DATE | Type::TIMESTAMP | Type::TIMESTAMPTZ => temporal(rows, i, name, ty)?,
        ref other => return Err(unsupported(name, other)),
    })
}

/// Each value mapped, NULLs kept.
fn each<T, U>(values: Vec<Option<T>>, f: impl Fn(T) -> U) -> Vec<Option<U>> {
    values.into_iter().map(|v| v.map(&f)).collect()
}

/// A `date` column as polars dates; a `timestamp` or `timestamptz` column
/// as UTC microseconds without a zone.
fn temporal(rows: &[postgres::Row], i: usize, name: &str, ty: &Type) -> Result<Series, Error> {
    let n = name.into();
    let micros = DataType::Datetime(TimeUnit::Microseconds, None);
    let (series, to) = match *ty {
        Type::DATE => {
            let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
            let days: Vec<Option<i32>> = read::<chrono::NaiveDate>(rows, i, name)?
                .into_iter()
                .map(|v| v.and_then(|d| i32::try_from((d - epoch).num_days()).ok()))
                .collect();
            (Series::new(n, days), DataType::Date)
        }
        Type::TIMESTAMP => {
            let us = each(read::<chrono::NaiveDateTime>(rows, i, name)?, |t| {
                t.and_utc().timestamp_micros()
            });
            (Series::new(n, us), micros)
        }
        Type::TIMESTAMPTZ => {
            let us = each(read::<chrono::DateTime<chrono::Utc>>(rows, i, name)?, |t| {
                t.timestamp_micros()
            });
            (Series::new(n, us), micros)
        }
        ref other => return Err(unsupported(name, other)),
    };
    series
        .cast(&to)
        .map_err(|e| Error::engine("schema", e.to_string()))
}

/// A result column of a type the engine does not convert.
fn unsupported(name: &str, ty: &Type) -> Error {
    Error::engine(
        "unsupported_type",
        format!(
            "column `{name}` has type `{ty}`, which the PostgreSQL engine does not convert; cast it to text or a number in the query"
        ),
    )
}

/// A `uuid` (as its hyphenated text) or a `citext` value.
struct TextLike(String);

impl<'a> FromSql<'a> for TextLike {
    fn from_sql(
        ty: &Type,
        raw: &'a [u8],
    ) -> Result<TextLike, Box<dyn std::error::Error + Sync + Send>> {
        if *ty == Type::UUID {
            let hex = data_encoding::HEXLOWER.encode(raw);
            let (Some(a), Some(b), Some(c), Some(d), Some(e)) = (
                hex.get(..8),
                hex.get(8..12),
                hex.get(12..16),
                hex.get(16..20),
                hex.get(20..32),
            ) else {
                return Err("a uuid is not 16 bytes".into());
            };
            return Ok(TextLike(format!("{a}-{b}-{c}-{d}-{e}")));
        }
        Ok(TextLike(std::str::from_utf8(raw)?.to_string()))
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::UUID || ty.name() == "citext"
    }
}

/// A `numeric` value, read from PostgreSQL's binary format as an `f64`.
struct Numeric(f64);

impl<'a> FromSql<'a> for Numeric {
    fn from_sql(
        _: &Type,
        raw: &'a [u8],
    ) -> Result<Numeric, Box<dyn std::error::Error + Sync + Send>> {
        // ndigits, weight, sign, dscale, then ndigits base-10000 digits.
        let word = |k: usize| -> Result<u16, Box<dyn std::error::Error + Sync + Send>> {
            raw.get(k..k + 2)
                .map(|b| u16::from_be_bytes([b[0], b[1]]))
                .ok_or_else(|| "a numeric value is cut short".into())
        };
        let ndigits = usize::from(word(0)?);
        let weight = i32::from(word(2)? as i16);
        let sign = word(4)?;
        match sign {
            0x0000 | 0x4000 => {}
            0xC000 => return Ok(Numeric(f64::NAN)),
            0xD000 => return Ok(Numeric(f64::INFINITY)),
            0xF000 => return Ok(Numeric(f64::NEG_INFINITY)),
            _ => return Err("a numeric value has an unknown sign".into()),
        }
        // The digits as decimal text, then one correctly rounded parse.
        let mut digits = String::with_capacity(ndigits * 4 + 8);
        if sign == 0x4000 {
            digits.push('-');
        }
        for d in 0..ndigits {
            digits.push_str(&format!("{:04}", word(8 + 2 * d)?));
        }
        if ndigits == 0 {
            return Ok(Numeric(0.0));
        }
        // The digits stand for 0.d0d1… × 10000^(weight + 1).
        let exp = (weight + 1) * 4 - (ndigits as i32) * 4;
        let value: f64 = format!("{digits}e{exp}").parse()?;
        Ok(Numeric(value))
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::NUMERIC
    }
}

impl Engine for PostgresEngine {
    fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn execute(&self, sql: &str, max_rows: u64) -> Result<DataFrame, Error> {
        let mut client = self.take()?;
        let result = self.run_sql(&mut client, sql, max_rows);
        // A connection whose query failed is still usable: the transaction
        // was dropped (rolled back); a closed one is not kept.
        self.give_back(client);
        result
    }

    fn distinct_values(
        &self,
        table: &str,
        column: &str,
        limit: Option<u64>,
        each: &mut dyn FnMut(&str) -> Result<(), Error>,
    ) -> Result<(), Error> {
        // The names come from the catalog, which was read from the server.
        catalog_column(&self.catalog, table, column)?;
        let c = quote_ident(column);
        let sql = match limit {
            // Byte order, as the polars engine sorts.
            Some(n) => format!(
                "SELECT DISTINCT {c}::text COLLATE \"C\" AS v FROM {t} WHERE {c} IS NOT NULL ORDER BY v LIMIT {n}",
                t = quote_table(table),
                n = n.min(i64::MAX as u64)
            ),
            None => format!(
                "SELECT DISTINCT {c}::text AS v FROM {t} WHERE {c} IS NOT NULL",
                t = quote_table(table)
            ),
        };
        let mut client = self.take()?;
        let result = self.stream_text(&mut client, &sql, each);
        self.give_back(client);
        result
    }
}

impl PostgresEngine {
    /// Runs a one-column text query of sqlveil's own in a read-only
    /// transaction with the engine's settings, streaming the rows to `each`
    /// as they arrive.
    fn stream_text(
        &self,
        client: &mut Client,
        sql: &str,
        each: &mut dyn FnMut(&str) -> Result<(), Error>,
    ) -> Result<(), Error> {
        use postgres::fallible_iterator::FallibleIterator;
        let mut tx = client
            .build_transaction()
            .read_only(true)
            .start()
            .map_err(|e| engine_error(&e))?;
        tx.batch_execute(&format!(
            "SET LOCAL statement_timeout = {}; SET LOCAL standard_conforming_strings = on; \
             SET LOCAL search_path = pg_catalog, public",
            self.timeout_ms
        ))
        .map_err(|e| engine_error(&e))?;
        let stmt = tx.prepare(sql).map_err(|e| engine_error(&e))?;
        let mut rows = tx
            .query_raw(
                &stmt,
                std::iter::empty::<&(dyn postgres::types::ToSql + Sync)>(),
            )
            .map_err(|e| engine_error(&e))?;
        while let Some(row) = rows.next().map_err(|e| engine_error(&e))? {
            let v: Option<&str> = row.try_get(0).map_err(|_| {
                Error::engine("schema", "a value could not be read as text".to_string())
            })?;
            if let Some(v) = v {
                each(v)?;
            }
        }
        drop(rows);
        tx.rollback().map_err(|e| engine_error(&e))?;
        Ok(())
    }
}
