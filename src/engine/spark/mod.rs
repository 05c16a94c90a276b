//! The Apache Spark engine: guarded SQL on a Spark cluster, over Spark
//! Connect (feature `spark`).
//!
//! # Design choices
//!
//! - **Apache's client.** The transport is `apache-spark-connect-core` and
//!   the protocol `apache-spark-connect-proto` (the Apache Spark project's
//!   own Rust client, pure Rust over tonic); results are Arrow IPC batches,
//!   read with arrow-rs and converted to polars by value
//!   ([`batches`](self::batches)).
//! - **One session, reused.** [`SparkEngine::connect`] opens one Spark
//!   Connect session and sets the settings the guard's SQL relies on
//!   (`SESSION_SETTINGS`), then reads them back: a server that will not keep
//!   them is refused. Queries from many threads share the session, as Spark
//!   Connect allows.
//! - **Only a query runs.** Spark has no read-only transaction: the engine
//!   runs the guard's SQL as the subquery of `SELECT * FROM (…) LIMIT n`,
//!   which Spark's parser accepts only for a query (a command, a `SET` or DDL
//!   cannot stand in a subquery), and caps the rows in SQL as well as on
//!   collection. Connect as a principal with read access to the policy's
//!   tables only (see the README).
//! - **Timeouts interrupt the server.** Every operation has an id; when the
//!   statement timeout passes, the engine asks the server to interrupt that
//!   operation and returns a `timeout` engine error. The result stream is not
//!   reattachable: a stream that breaks fails the query (and the server ends
//!   the operation), rather than being resumed.

mod batches;
mod errors;

use std::time::{Duration, Instant};

use ::polars::prelude::{DataFrame, DataType, IntoColumn, Series};
use spark_connect_core::channel::ChannelBuilder;
use spark_connect_core::retries::RetryPolicy;
use spark_connect_core::{block_on, SparkConnectClient, SparkError};
use spark_connect_proto as proto;

use super::{catalog_column, Engine};
use crate::error::{Error, ErrorKind};
use crate::rules::Policy;
use crate::schema::{Catalog, CatalogColumn, CatalogTable, ColumnType, Dialect};

/// The session settings the guard's SQL relies on, set when the engine
/// connects and read back: timestamps in UTC (as the other engines give
/// them); ANSI semantics (errors, as PostgreSQL raises, rather than silent
/// NULLs); no `${…}` substitution in SQL text; backslash escapes in string
/// literals (how the guard writes them); backquoted names never read as
/// regular expressions; integers in `GROUP BY` and `ORDER BY` as positions.
pub(crate) const SESSION_SETTINGS: &[(&str, &str)] = &[
    ("spark.sql.session.timeZone", "UTC"),
    ("spark.sql.ansi.enabled", "true"),
    ("spark.sql.variable.substitute", "false"),
    ("spark.sql.parser.escapedStringLiterals", "false"),
    ("spark.sql.parser.quotedRegexColumnNames", "false"),
    ("spark.sql.groupByOrdinal", "true"),
    ("spark.sql.orderByOrdinal", "true"),
];

/// The client type the server logs for sqlveil's requests.
const CLIENT_TYPE: &str = "sqlveil";

/// Builds a [`SparkEngine`].
#[derive(Debug, Clone)]
pub struct SparkEngineBuilder {
    statement_timeout: Duration,
    connect_timeout: Duration,
}

impl Default for SparkEngineBuilder {
    fn default() -> SparkEngineBuilder {
        SparkEngineBuilder {
            statement_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
        }
    }
}

impl SparkEngineBuilder {
    /// How long a query may run before the engine interrupts it on the
    /// server and returns a `timeout` engine error (default 30 s).
    pub fn statement_timeout(mut self, t: Duration) -> SparkEngineBuilder {
        self.statement_timeout = t.max(Duration::from_millis(1));
        self
    }

    /// How long connecting (and reading the catalog) may take (default
    /// 10 s).
    pub fn connect_timeout(mut self, t: Duration) -> SparkEngineBuilder {
        self.connect_timeout = t.max(Duration::from_millis(1));
        self
    }

    /// Connects to the Spark Connect server at `url`
    /// (`sc://host:port`, with Spark Connect's `;key=value` parameters such
    /// as `;token=…;use_ssl=true`), sets the session's settings and reads
    /// the columns of the tables the policy names: `table` (in the
    /// session's current database), `database.table` or
    /// `catalog.database.table`. A table the server does not have is left
    /// out of the catalog.
    ///
    /// # Errors
    /// A malformed URL, a server that cannot be reached or refuses the
    /// session, or one that will not keep sqlveil's session settings
    /// ([`ErrorKind::Connection`]); reading the catalog failing (an engine
    /// error).
    pub fn connect(&self, url: &str, policy: &Policy) -> Result<SparkEngine, Error> {
        let builder = ChannelBuilder::parse(url).map_err(|_| {
            Error::new(ErrorKind::Connection {
                target: "the Spark Connect URL".to_string(),
                reason: "it is not a valid Spark Connect URL (sc://host:port)".to_string(),
            })
        })?;
        let target = format!("{}:{}", builder.host(), builder.port());
        let deadline = Instant::now() + self.connect_timeout;
        let client = within(deadline, SparkConnectClient::connect(&builder))
            .ok_or_else(|| timed_out_connecting(&target))?
            .map_err(|e| errors::connection(&target, &e))?;
        let mut client = client;
        // Retries of a failed call are few and short: the engine's own
        // timeouts bound every call, and a server that went away is an error
        // soon rather than after an hour of backoff.
        client.set_retry_policy(RetryPolicy {
            max_retries: Some(3),
            initial_backoff_ms: 100,
            max_backoff_ms: Some(1_000),
            max_retry_exception_elapsed_time_ms: Some(
                u64::try_from(self.connect_timeout.as_millis()).unwrap_or(u64::MAX),
            ),
            ..RetryPolicy::default()
        });
        let engine = SparkEngine {
            client,
            target,
            timeout: self.statement_timeout,
            catalog: Catalog::new(Vec::new()),
        };
        engine.settle(deadline)?;
        let mut tables = Vec::new();
        for t in policy.tables() {
            if let Some(columns) = engine.table_columns(&t.name, deadline)? {
                tables.push(CatalogTable {
                    name: t.name.clone(),
                    columns,
                });
            }
        }
        Ok(SparkEngine {
            catalog: Catalog::new(tables),
            ..engine
        })
    }
}

/// An [`Engine`] on an Apache Spark cluster, over Spark Connect (feature
/// `spark`).
///
/// Every query runs in one Spark Connect session with sqlveil's settings
/// (timestamps in UTC, ANSI semantics, no `${…}` substitution, backslash
/// escapes in literals, no regular expressions as column names, positions
/// in `GROUP BY` and `ORDER BY`), as the subquery of a row-capped `SELECT`,
/// with a
/// statement timeout that interrupts the operation on the server. Connect
/// as a principal that can read the policy's tables and nothing else (see
/// the README): the guard admits only reads, and Spark has no read-only
/// mode of its own.
///
/// Results are converted to the same `DataFrame` as the other engines':
/// integers as `i64`, decimals and floats as `f64`, text, booleans, dates,
/// timestamps (as UTC), NULLs. Another type in a result is an engine error
/// that names the column and the type.
///
/// # Example
/// ```no_run
/// use sqlveil::{Engine, Policy, SparkEngine};
/// use sqlveil::guard::GuardBuilder;
///
/// let policy = Policy::from_path("rules/sample.toml")?;
/// let engine = SparkEngine::connect("sc://127.0.0.1:15002", &policy)?;
/// let guard = GuardBuilder::new().dialect(engine.dialect()).build(&policy, engine.catalog())?;
/// let q = guard.check("SELECT city, COUNT(*) AS n FROM customers GROUP BY city")?;
/// println!("{}", sqlveil::run(&engine, &q)?);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct SparkEngine {
    client: SparkConnectClient,
    target: String,
    timeout: Duration,
    catalog: Catalog,
}

impl std::fmt::Debug for SparkEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL's parameters (a token) are never printed.
        f.debug_struct("SparkEngine")
            .field("target", &self.target)
            .field("statement_timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// Runs `fut` on the client's runtime until `deadline`; `None` when the
/// deadline passed first.
fn within<F: std::future::Future>(deadline: Instant, fut: F) -> Option<F::Output> {
    let left = deadline.saturating_duration_since(Instant::now());
    block_on(async { tokio::time::timeout(left, fut).await.ok() })
}

fn timed_out_connecting(target: &str) -> Error {
    Error::new(ErrorKind::Connection {
        target: target.to_string(),
        reason: "the server did not answer in time".to_string(),
    })
}

/// What a reader of result batches wants next.
enum Flow {
    More,
    Stop,
}

impl SparkEngine {
    /// Connects with the default settings; see [`SparkEngine::builder`].
    ///
    /// # Errors
    /// As [`SparkEngineBuilder::connect`].
    pub fn connect(url: &str, policy: &Policy) -> Result<SparkEngine, Error> {
        SparkEngineBuilder::default().connect(url, policy)
    }

    /// A builder for the timeouts.
    pub fn builder() -> SparkEngineBuilder {
        SparkEngineBuilder::default()
    }

    /// The server, as `host:port` (no URL parameters).
    pub fn target(&self) -> &str {
        &self.target
    }

    fn user_context(&self) -> Option<proto::UserContext> {
        Some(proto::UserContext {
            user_id: self.client.user_id().unwrap_or_default().to_string(),
            ..Default::default()
        })
    }

    /// Sets [`SESSION_SETTINGS`] and reads them back.
    fn settle(&self, deadline: Instant) -> Result<(), Error> {
        let pairs = SESSION_SETTINGS
            .iter()
            .map(|(k, v)| proto::KeyValue {
                key: (*k).to_string(),
                value: Some((*v).to_string()),
            })
            .collect();
        let request = proto::ConfigRequest {
            session_id: self.client.session_id().to_string(),
            user_context: self.user_context(),
            client_type: Some(CLIENT_TYPE.to_string()),
            operation: Some(proto::config_request::Operation {
                op_type: Some(proto::config_request::operation::OpType::Set(
                    proto::config_request::Set {
                        pairs,
                        silent: Some(false),
                    },
                )),
            }),
            ..Default::default()
        };
        within(deadline, self.client.config(request))
            .ok_or_else(|| timed_out_connecting(&self.target))?
            .map_err(|e| self.connect_failure(&e))?;
        let keys: Vec<&str> = SESSION_SETTINGS.iter().map(|(k, _)| *k).collect();
        let got = within(deadline, self.client.get_configs(&keys))
            .ok_or_else(|| timed_out_connecting(&self.target))?
            .map_err(|e| self.connect_failure(&e))?;
        for ((key, want), got) in SESSION_SETTINGS.iter().zip(got) {
            if !got.is_some_and(|g| g.eq_ignore_ascii_case(want)) {
                return Err(Error::new(ErrorKind::Connection {
                    target: self.target.clone(),
                    reason: format!(
                        "the server does not keep the session setting `{key}` = `{want}`, which sqlveil's SQL relies on"
                    ),
                }));
            }
        }
        Ok(())
    }

    /// A failure while connecting: always a connection error.
    fn connect_failure(&self, e: &SparkError) -> Error {
        errors::connection(&self.target, e)
    }

    /// The columns of a table, from the server's schema of it; `None` when
    /// the server has no such table.
    fn table_columns(
        &self,
        name: &str,
        deadline: Instant,
    ) -> Result<Option<Vec<CatalogColumn>>, Error> {
        let read = proto::Relation {
            common: None,
            rel_type: Some(proto::relation::RelType::Read(proto::Read {
                read_type: Some(proto::read::ReadType::NamedTable(proto::read::NamedTable {
                    unparsed_identifier: quote_name(name),
                    options: Default::default(),
                })),
                is_streaming: false,
            })),
        };
        let request = proto::AnalyzePlanRequest {
            session_id: self.client.session_id().to_string(),
            user_context: self.user_context(),
            client_type: Some(CLIENT_TYPE.to_string()),
            analyze: Some(proto::analyze_plan_request::Analyze::Schema(
                proto::analyze_plan_request::Schema {
                    plan: Some(proto::Plan {
                        op_type: Some(proto::plan::OpType::Root(read)),
                    }),
                },
            )),
            ..Default::default()
        };
        let response = match within(deadline, self.client.analyze_plan(request))
            .ok_or_else(|| timed_out_connecting(&self.target))?
        {
            Ok(r) => r,
            Err(e) if e.error_class == "TABLE_OR_VIEW_NOT_FOUND" => return Ok(None),
            Err(e) => return Err(errors::engine(&self.target, &e)),
        };
        let schema = match response.result {
            Some(proto::analyze_plan_response::Result::Schema(s)) => s.schema,
            _ => None,
        };
        let Some(proto::DataType {
            kind: Some(proto::data_type::Kind::Struct(st)),
        }) = schema
        else {
            return Err(Error::engine(
                "schema",
                format!("the server gave no columns for table `{name}`"),
            ));
        };
        Ok(Some(
            st.fields
                .into_iter()
                .map(|f| CatalogColumn {
                    ty: column_type(f.data_type.as_ref()),
                    name: f.name,
                })
                .collect(),
        ))
    }

    /// Runs one SQL query, passing each result batch (as a polars frame) to
    /// `each` until it says stop, within the statement timeout. Returns the
    /// schema the server announced, if any (for a result with no batch).
    fn stream(
        &self,
        sql: &str,
        each: &mut dyn FnMut(DataFrame) -> Result<Flow, Error>,
    ) -> Result<Option<proto::DataType>, Error> {
        let operation_id = uuid::Uuid::new_v4().to_string();
        let request = proto::ExecutePlanRequest {
            session_id: self.client.session_id().to_string(),
            user_context: self.user_context(),
            operation_id: Some(operation_id.clone()),
            plan: Some(proto::Plan {
                op_type: Some(proto::plan::OpType::Root(proto::Relation {
                    common: None,
                    rel_type: Some(proto::relation::RelType::Sql(proto::Sql {
                        query: sql.to_string(),
                        ..Default::default()
                    })),
                })),
            }),
            client_type: Some(CLIENT_TYPE.to_string()),
            ..Default::default()
        };
        let deadline = Instant::now() + self.timeout;
        let timed_out = |what: &str| self.interrupt(&operation_id, what);
        let mut stream = match within(deadline, self.client.execute_plan(request)) {
            None => return Err(timed_out("starting")),
            Some(r) => r.map_err(|e| errors::engine(&self.target, &e))?,
        };
        let mut schema = None;
        loop {
            let next = match within(deadline, stream.message()) {
                None => return Err(timed_out("running")),
                Some(Ok(m)) => m,
                Some(Err(status)) => {
                    return Err(errors::engine(
                        &self.target,
                        &SparkError::from_grpc_status(status),
                    ))
                }
            };
            let Some(response) = next else { break };
            if response.schema.is_some() {
                schema = response.schema;
            }
            match response.response_type {
                Some(proto::execute_plan_response::ResponseType::ArrowBatch(b)) => {
                    for batch in batches::decode(&b.data)? {
                        if let Flow::Stop = each(batches::to_frame(&batch)?)? {
                            // The rest is not wanted: the operation ends on the
                            // server when the stream is dropped; the interrupt
                            // says so at once.
                            drop(stream);
                            let _ = self.interrupt(&operation_id, "stopped");
                            return Ok(schema);
                        }
                    }
                }
                Some(proto::execute_plan_response::ResponseType::ResultComplete(_)) => break,
                _ => {}
            }
        }
        Ok(schema)
    }

    /// Asks the server to interrupt an operation (within a few seconds),
    /// and returns the `timeout` error that says how that went.
    fn interrupt(&self, operation_id: &str, what: &str) -> Error {
        let deadline = Instant::now() + Duration::from_secs(5);
        let outcome = match within(deadline, self.client.interrupt_operation(operation_id)) {
            Some(Ok(ids)) if ids.iter().any(|i| i == operation_id) => "interrupted on the server",
            Some(Ok(_)) => "no longer running on the server",
            Some(Err(_)) | None => "the server could not be asked to interrupt it",
        };
        Error::engine(
            "timeout",
            format!(
                "the query ran longer than the statement timeout ({} ms) while {what}; {outcome}",
                self.timeout.as_millis()
            ),
        )
    }
}

/// A policy table's name as a Spark multi-part identifier: every part in
/// backquotes.
fn quote_name(name: &str) -> String {
    name.split('.')
        .map(quote_ident)
        .collect::<Vec<_>>()
        .join(".")
}

/// A Spark identifier in backquotes.
fn quote_ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

fn column_type(ty: Option<&proto::DataType>) -> ColumnType {
    use proto::data_type::Kind;
    let Some(kind) = ty.and_then(|t| t.kind.as_ref()) else {
        return ColumnType::Other("unknown".to_string());
    };
    match kind {
        Kind::String(_) | Kind::Char(_) | Kind::VarChar(_) => ColumnType::Text,
        Kind::Byte(_) | Kind::Short(_) | Kind::Integer(_) | Kind::Long(_) => ColumnType::Integer,
        Kind::Float(_) | Kind::Double(_) | Kind::Decimal(_) => ColumnType::Float,
        Kind::Boolean(_) => ColumnType::Boolean,
        Kind::Date(_) => ColumnType::Date,
        Kind::Timestamp(_) | Kind::TimestampNtz(_) => ColumnType::Datetime,
        other => ColumnType::Other(crate::guard::variant_name(other).to_lowercase()),
    }
}

/// An empty frame with the columns of a schema the server announced (a
/// result with no rows and no batch).
fn empty_frame(schema: &proto::DataType) -> Result<DataFrame, Error> {
    use proto::data_type::Kind;
    let Some(Kind::Struct(st)) = &schema.kind else {
        return Err(Error::engine(
            "schema",
            "the server's result schema is not a row type".to_string(),
        ));
    };
    let mut columns = Vec::with_capacity(st.fields.len());
    for f in &st.fields {
        let dtype = match column_type(f.data_type.as_ref()) {
            ColumnType::Text => DataType::String,
            ColumnType::Integer => DataType::Int64,
            ColumnType::Float => DataType::Float64,
            ColumnType::Boolean => DataType::Boolean,
            ColumnType::Date => DataType::Date,
            ColumnType::Datetime => {
                DataType::Datetime(::polars::prelude::TimeUnit::Microseconds, None)
            }
            _ => DataType::Null,
        };
        columns.push(Series::new_empty(f.name.as_str().into(), &dtype).into_column());
    }
    DataFrame::new_infer_height(columns).map_err(|e| Error::engine("schema", e.to_string()))
}

impl Engine for SparkEngine {
    fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    fn dialect(&self) -> Dialect {
        Dialect::Spark
    }

    fn execute(&self, sql: &str, max_rows: u64) -> Result<DataFrame, Error> {
        // Spark's LIMIT is a 32-bit count.
        let cap = max_rows.min(i32::MAX as u64);
        let wrapped = format!("SELECT * FROM (\n{sql}\n) AS `sqlveil_result` LIMIT {cap}");
        let cap = usize::try_from(cap).unwrap_or(usize::MAX);
        let mut out: Option<DataFrame> = None;
        let schema = self.stream(&wrapped, &mut |frame| {
            let frame = match out.take() {
                None => frame,
                Some(mut acc) => {
                    acc.vstack_mut(&frame)
                        .map_err(|e| Error::engine("schema", e.to_string()))?;
                    acc
                }
            };
            // The cap again, on what arrives: more rows than the SQL's
            // LIMIT are cut, and the rest is not read.
            let over = frame.height() > cap;
            out = Some(if over { frame.head(Some(cap)) } else { frame });
            Ok(if over { Flow::Stop } else { Flow::More })
        })?;
        match (out, schema) {
            (Some(df), _) => Ok(df),
            (None, Some(schema)) => empty_frame(&schema),
            (None, None) => Err(Error::engine(
                "schema",
                "the server returned neither rows nor a schema".to_string(),
            )),
        }
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
        let t = quote_name(table);
        // Spark compares strings by their UTF-8 bytes, as the polars engine
        // sorts.
        let sql = match limit {
            Some(n) => format!(
                "SELECT DISTINCT CAST({c} AS STRING) AS v FROM {t} WHERE {c} IS NOT NULL ORDER BY v LIMIT {}",
                n.min(i32::MAX as u64)
            ),
            None => format!("SELECT DISTINCT CAST({c} AS STRING) AS v FROM {t} WHERE {c} IS NOT NULL"),
        };
        let mut failed: Option<Error> = None;
        self.stream(&sql, &mut |frame| {
            let col = frame
                .columns()
                .first()
                .ok_or_else(|| Error::engine("schema", "a value read has no column".to_string()))?;
            let s = col
                .as_materialized_series()
                .str()
                .map_err(|e| Error::engine("schema", e.to_string()))?;
            for v in s.iter().flatten() {
                if let Err(e) = each(v) {
                    failed = Some(e);
                    return Ok(Flow::Stop);
                }
            }
            Ok(Flow::More)
        })?;
        match failed {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}
