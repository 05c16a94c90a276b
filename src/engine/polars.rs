//! The embedded polars engine: a folder of CSV, Parquet and NDJSON files, one
//! table per file, scanned lazily.

use std::path::{Path, PathBuf};

use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use polars::prelude::{
    col, len, polars_bail, BaseColumnUdf, Column, DataFrame, DataType, Field, IntoColumn, IntoLazy,
    LazyCsvReader, LazyFileListReader, LazyFrame, LazyJsonLineReader, PlRefPath, PolarsError,
    PolarsResult, ScanArgsParquet, Schema, SchemaRef, SortMultipleOptions, StringChunked,
    UniqueKeepStrategy, UserDefinedFunction,
};
use polars::sql::SQLContext;
use polars_sql::function_registry::FunctionRegistry;

use super::{catalog_column, Engine};
use crate::error::{Error, ErrorKind};
use crate::guard::POLARS_ORDER_HASH;
use crate::rules::{Action, Generalization, Policy, TablePolicy};
use crate::schema::{Catalog, CatalogColumn, CatalogTable, ColumnType, Dialect};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Csv,
    Parquet,
    Ndjson,
}

impl Format {
    fn of(path: &Path) -> Option<Format> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "csv" => Some(Format::Csv),
            "parquet" | "pq" => Some(Format::Parquet),
            "ndjson" | "jsonl" => Some(Format::Ndjson),
            _ => None,
        }
    }
}

/// A data file of the folder.
struct Table {
    name: String,
    path: PathBuf,
    frame: LazyFrame,
    /// The file's rows in memory, with the stamp of the file they were
    /// read from.
    cache: RwLock<Option<Cached>>,
    /// Columns found unique and never empty (or not), with the stamp of
    /// the file they were examined in.
    unique: RwLock<Vec<(String, Stamp, bool)>>,
}

struct Cached {
    stamp: Stamp,
    frame: DataFrame,
}

/// What says a file is unchanged: its size and modification time, and on
/// Unix its inode and status-change time (which `cp -p` and `rsync -t`,
/// setting the modification time back, cannot set).
#[derive(PartialEq, Eq)]
struct Stamp {
    len: u64,
    modified: Option<SystemTime>,
    #[cfg(unix)]
    inode: (u64, i64, i64),
}

impl Stamp {
    fn of(meta: &std::fs::Metadata) -> Stamp {
        #[cfg(unix)]
        use std::os::unix::fs::MetadataExt;
        Stamp {
            len: meta.len(),
            modified: meta.modified().ok(),
            #[cfg(unix)]
            inode: (meta.ino(), meta.ctime(), meta.ctime_nsec()),
        }
    }
}

/// The stack of the thread a polars query runs on.
const POLARS_STACK: usize = 64 << 20;

/// The embedded polars engine over a folder of data files.
///
/// Each `.csv`, `.parquet` (`.pq`) and `.ndjson` (`.jsonl`) file is a table
/// named after its file stem. Only files whose stem the policy names are
/// registered; the rest of the folder is never read. A query scans only the
/// tables it names, lazily: polars reads only the columns the query uses
/// (projection pushdown) and, for Parquet, skips row groups its filters rule
/// out (predicate pushdown). Nothing is kept in memory between queries
/// unless [`with_memory_limit`](Self::with_memory_limit) says so.
///
/// # Example
/// ```
/// use sqlveil::{Engine, PolarsEngine, Policy};
/// use sqlveil::guard::Guard;
/// let policy = Policy::from_path("rules/sample.toml")?;
/// let engine = PolarsEngine::open("examples/data", &policy)?;
/// let guard = Guard::new(&policy, engine.catalog())?;
/// let query = guard.check("SELECT city, COUNT(*) AS n FROM customers GROUP BY city")?;
/// let rows = sqlveil::run(&engine, &query)?;
/// assert_eq!(rows.width(), 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct PolarsEngine {
    dir: PathBuf,
    tables: Vec<Table>,
    catalog: Catalog,
    memory_limit: u64,
}

impl std::fmt::Debug for PolarsEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PolarsEngine")
            .field("dir", &self.dir)
            .field("catalog", &self.catalog)
            .finish_non_exhaustive()
    }
}

impl PolarsEngine {
    /// Opens a folder of data files for a policy, reading each named file's
    /// schema (not its rows).
    ///
    /// # Errors
    /// An unreadable folder; two files for one table; a file whose schema
    /// cannot be read (named in the error).
    pub fn open(dir: impl AsRef<Path>, policy: &Policy) -> Result<PolarsEngine, Error> {
        let dir = dir.as_ref().to_path_buf();
        let mut tables: Vec<Table> = Vec::new();
        let mut catalog = Vec::new();
        for path in data_files(&dir)? {
            let Some(format) = Format::of(&path) else {
                continue;
            };
            let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else {
                continue;
            };
            let Some(table_policy) = policy.table(stem) else {
                continue;
            };
            if let Some(other) = tables.iter().find(|t| t.name == stem) {
                return Err(Error::data_file(
                    &path,
                    format!(
                        "table `{stem}` has two files, this one and {}; keep one",
                        other.path.display()
                    ),
                    String::new(),
                ));
            }
            let (frame, schema) = scan_typed(&path, format, text_columns(table_policy))?;
            let columns = schema
                .iter()
                .map(|(name, dt)| CatalogColumn {
                    name: name.to_string(),
                    ty: column_type(dt),
                })
                .collect();
            catalog.push(CatalogTable {
                name: stem.to_string(),
                columns,
            });
            tables.push(Table {
                name: stem.to_string(),
                path,
                frame,
                cache: RwLock::new(None),
                unique: RwLock::new(Vec::new()),
            });
        }
        let engine = PolarsEngine {
            dir,
            tables,
            catalog: Catalog::new(catalog),
            memory_limit: 0,
        };
        engine.with_unique_subjects(policy)
    }

    /// The engine with the subject column of each table with `aggregate`
    /// columns marked in the catalog when it is unique: the guard then
    /// counts the people in a group by its rows.
    fn with_unique_subjects(mut self, policy: &Policy) -> Result<PolarsEngine, Error> {
        for tp in policy.tables() {
            let Some(subject) = &tp.subject else {
                continue;
            };
            let summarised = tp
                .columns
                .iter()
                .any(|c| matches!(c.action, Action::Aggregate { .. }));
            let present = self
                .catalog
                .table(&tp.name)
                .is_some_and(|t| t.columns.iter().any(|c| &c.name == subject));
            if summarised && present && self.is_unique(&tp.name, subject)? {
                self.catalog = self.catalog.with_unique(&tp.name, subject);
            }
        }
        Ok(self)
    }

    /// Keeps small files in memory: files up to `bytes` are read whole at
    /// the first query that names them and kept until they change on disk
    /// (size, modification time, and on Unix inode or status-change time);
    /// larger files are scanned at every query. The limit is the file's size
    /// on disk: a compressed Parquet file takes more in memory. The default
    /// is 0: every query scans the files it names, reading only the columns
    /// and row groups it needs, which is what large files want; a backend
    /// over small CSV files answers faster with a cache.
    pub fn with_memory_limit(mut self, bytes: u64) -> PolarsEngine {
        self.memory_limit = bytes;
        self
    }

    /// The table's rows: from memory when the file is small enough and has
    /// not changed, else the file scan.
    fn frame(&self, t: &Table) -> LazyFrame {
        if self.memory_limit == 0 {
            return t.frame.clone();
        }
        let Ok(meta) = std::fs::metadata(&t.path) else {
            // Missing now: the scan reports it to the queries that read it.
            return t.frame.clone();
        };
        if meta.len() > self.memory_limit {
            return t.frame.clone();
        }
        let stamp = Stamp::of(&meta);
        if let Ok(c) = t.cache.read() {
            if let Some(c) = c.as_ref().filter(|c| c.stamp == stamp) {
                return c.frame.clone().lazy();
            }
        }
        // A file that cannot be read whole stays a scan: the error then comes
        // from the queries that read it, not from every query.
        let Ok(frame) = t.frame.clone().collect() else {
            return t.frame.clone();
        };
        if let Ok(mut c) = t.cache.write() {
            *c = Some(Cached {
                stamp,
                frame: frame.clone(),
            });
        }
        frame.lazy()
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Reads every registered file in full, to find malformed rows that the
    /// schema pass of [`open`](Self::open) cannot see.
    ///
    /// # Errors
    /// The first malformed file, named.
    pub fn validate(&self) -> Result<(), Error> {
        for t in &self.tables {
            t.frame.clone().collect().map_err(|e| {
                Error::data_file(
                    &t.path,
                    "a row cannot be read; the file is malformed",
                    e.to_string(),
                )
            })?;
        }
        Ok(())
    }
}

impl PolarsEngine {
    /// The tables whose name occurs in `sql` as a word (the guard writes
    /// every table name quoted): only they are registered, so that a query
    /// never reads, and with a cache never loads, a table it does not name.
    /// A name that occurs only in a literal costs a registration, no read.
    fn named_in<'a>(&'a self, sql: &'a str) -> impl Iterator<Item = &'a Table> + 'a {
        let lower = sql.to_lowercase();
        self.tables.iter().filter(move |t| {
            let name = t.name.to_lowercase();
            lower.match_indices(&name).any(|(i, m)| {
                let before = lower[..i].chars().next_back();
                let after = lower[i + m.len()..].chars().next();
                let part = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
                !part(before) && !part(after)
            })
        })
    }

    fn table(&self, name: &str) -> Result<&Table, Error> {
        self.tables
            .iter()
            .find(|t| t.name == name)
            .ok_or_else(|| Error::usage(format!("table `{name}` is not in the engine's catalog")))
    }
}

/// The folder's entries, sorted.
fn data_files(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let io = |source| {
        Error::new(ErrorKind::Io {
            path: dir.to_path_buf(),
            source,
        })
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(io)?;
    files.sort();
    Ok(files)
}

/// The columns of a table whose action works on text (masks, prefixes).
fn text_columns(table: &TablePolicy) -> Vec<String> {
    table
        .columns
        .iter()
        .filter(|c| {
            matches!(
                c.action,
                Action::Mask(_) | Action::Generalize(Generalization::Prefix(_))
            )
        })
        .map(|c| c.name.clone())
        .collect()
}

/// A file's scan and schema. The `text_columns` are read as text from CSV:
/// inferring `02134` as the number 2134 would lose the leading zero and
/// shift what a prefix shows.
fn scan_typed(
    path: &Path,
    format: Format,
    text_columns: Vec<String>,
) -> Result<(LazyFrame, SchemaRef), Error> {
    let schema_of = |frame: &LazyFrame| {
        frame.clone().collect_schema().map_err(|e| {
            Error::data_file(
                path,
                "its schema cannot be read; the file is malformed or not of its extension's format",
                e.to_string(),
            )
        })
    };
    let mut frame = scan(path, format, &[])?;
    let mut schema = schema_of(&frame)?;
    let retype: Vec<String> = text_columns
        .into_iter()
        .filter(|c| {
            schema
                .get(c.as_str())
                .is_some_and(|t| *t != DataType::String)
        })
        .collect();
    if format == Format::Csv && !retype.is_empty() {
        frame = scan(path, format, &retype)?;
        schema = schema_of(&frame)?;
    }
    Ok((frame, schema))
}

fn scan(path: &Path, format: Format, text_columns: &[String]) -> Result<LazyFrame, Error> {
    let p = path
        .to_str()
        .map(PlRefPath::new)
        .ok_or_else(|| Error::data_file(path, "its path is not valid UTF-8", String::new()))?;
    let r = match format {
        Format::Csv => {
            let overwrite = (!text_columns.is_empty()).then(|| {
                Arc::new(Schema::from_iter(
                    text_columns
                        .iter()
                        .map(|c| Field::new(c.as_str().into(), DataType::String)),
                ))
            });
            LazyCsvReader::new(p)
                .with_has_header(true)
                .with_try_parse_dates(true)
                .with_infer_schema_length(Some(1000))
                .with_dtype_overwrite(overwrite)
                .finish()
        }
        Format::Parquet => LazyFrame::scan_parquet(p, ScanArgsParquet::default()),
        Format::Ndjson => LazyJsonLineReader::new(p)
            .with_infer_schema_length(std::num::NonZeroUsize::new(1000))
            .finish(),
    };
    r.map_err(|e| Error::data_file(path, "it cannot be opened", e.to_string()))
}

fn column_type(dt: &DataType) -> ColumnType {
    match dt {
        DataType::String => ColumnType::Text,
        DataType::Boolean => ColumnType::Boolean,
        DataType::Date => ColumnType::Date,
        DataType::Datetime(..) => ColumnType::Datetime,
        d if d.is_integer() => ColumnType::Integer,
        d if d.is_float() => ColumnType::Float,
        other => ColumnType::Other(other.to_string()),
    }
}

/// A category for an engine error that says nothing of the data.
fn category(e: &PolarsError) -> &'static str {
    match e {
        PolarsError::ColumnNotFound(_) => "column_not_found",
        PolarsError::ComputeError(_) => "compute",
        PolarsError::InvalidOperation(_) => "invalid_operation",
        PolarsError::SchemaMismatch(_) | PolarsError::SchemaFieldNotFound(_) => "schema",
        PolarsError::ShapeMismatch(_) => "shape",
        PolarsError::SQLInterface(_) | PolarsError::SQLSyntax(_) => "sql",
        PolarsError::IO { .. } => "io",
        PolarsError::OutOfBounds(_) => "out_of_bounds",
        PolarsError::Duplicate(_) => "duplicate",
        PolarsError::NoData(_) => "no_data",
        PolarsError::Context { error, .. } => category(error),
        _ => "engine",
    }
}

impl Engine for PolarsEngine {
    fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    fn dialect(&self) -> Dialect {
        Dialect::Polars
    }

    fn execute(&self, sql: &str, max_rows: u64) -> Result<DataFrame, Error> {
        // polars plans a query by recursion whose depth follows the query's
        // nesting: on a caller's small stack (2 MiB, a test's or a runtime's
        // blocking thread) a nested query the guard allows could overflow
        // it and abort the process. The query runs on a thread of its own
        // with room to spare.
        std::thread::scope(|scope| {
            std::thread::Builder::new()
                .name("sqlveil-polars".into())
                .stack_size(POLARS_STACK)
                .spawn_scoped(scope, || {
                    let mut ctx =
                        SQLContext::new().with_function_registry(Arc::new(GuardFunctions));
                    for t in self.named_in(sql) {
                        ctx.register(&t.name, self.frame(t));
                    }
                    let cap = u32::try_from(max_rows).unwrap_or(u32::MAX);
                    ctx.execute(sql)
                        .and_then(|lf| lf.limit(cap).collect())
                        .map_err(|e| Error::engine(category(&e), e.to_string()))
                })
                .map_err(|e| Error::engine("thread", e.to_string()))?
                .join()
                .map_err(|_| Error::engine("panic", "the polars engine panicked".to_string()))?
        })
    }

    fn distinct_values(
        &self,
        table: &str,
        column: &str,
        limit: Option<u64>,
        each: &mut dyn FnMut(&str) -> Result<(), Error>,
    ) -> Result<(), Error> {
        catalog_column(&self.catalog, table, column)?;
        let t = self.table(table)?;
        // polars reads `^…$` as a regex of names and `*` as every column.
        if column == "*" || (column.starts_with('^') && column.ends_with('$')) {
            return Err(Error::usage(format!(
                "column `{table}.{column}` has a name polars reads as a pattern; rename it"
            )));
        }
        // Projection pushdown: the scan reads this one column. Distinct
        // values are taken before the cast to text, so a date or number
        // column of 80 M rows casts its few thousand distinct values, not
        // every row.
        let mut q = self
            .frame(t)
            .select([col(column)])
            .drop_nulls(None)
            .unique(None, UniqueKeepStrategy::Any)
            .select([col(column).cast(DataType::String)]);
        if let Some(n) = limit {
            q = q
                .sort([column], SortMultipleOptions::default())
                .limit(u32::try_from(n).unwrap_or(u32::MAX));
        }
        let df = q
            .collect()
            .map_err(|e| Error::engine(category(&e), e.to_string()))?;
        let Some(c) = df.columns().first() else {
            return Ok(());
        };
        let ca = c
            .as_materialized_series()
            .str()
            .map_err(|e| Error::engine("schema", e.to_string()))?;
        for v in ca.iter().flatten() {
            each(v)?;
        }
        Ok(())
    }

    fn is_unique(&self, table: &str, column: &str) -> Result<bool, Error> {
        let t = self.table(table)?;
        catalog_column(&self.catalog, table, column)?;
        // polars reads `^…$` as a regex of names and `*` as every column:
        // such a column cannot be examined, so it is not known unique.
        if column == "*" || (column.starts_with('^') && column.ends_with('$')) {
            return Ok(false);
        }
        let meta = std::fs::metadata(&t.path).map_err(|source| {
            Error::new(ErrorKind::Io {
                path: t.path.clone(),
                source,
            })
        })?;
        // The stamp is taken before the file is read: a file that changes
        // while it is examined is examined again at the next call.
        let stamp = Stamp::of(&meta);
        if let Ok(known) = t.unique.read() {
            if let Some((_, _, u)) = known.iter().find(|(c, s, _)| c == column && *s == stamp) {
                return Ok(*u);
            }
        }
        let counts = self
            .frame(t)
            .select([
                col(column).n_unique().alias("distinct"),
                col(column).null_count().alias("empty"),
                len().alias("rows"),
            ])
            .collect()
            .map_err(|e| Error::engine(category(&e), e.to_string()))?;
        let count = |name: &str| -> Result<u64, Error> {
            counts
                .column(name)
                .and_then(|c| c.get(0))
                .map_err(|e| Error::engine(category(&e), e.to_string()))?
                .extract::<u64>()
                .ok_or_else(|| {
                    Error::engine("schema", format!("the count `{name}` is not a number"))
                })
        };
        let unique = count("empty")? == 0 && count("distinct")? == count("rows")?;
        // Guards built from the catalog follow what was found now.
        self.catalog.set_unique(table, column, unique);
        if let Ok(mut known) = t.unique.write() {
            known.retain(|(c, _, _)| c != column);
            known.push((column.to_string(), stamp, unique));
        }
        Ok(unique)
    }

    fn data_identity(&self, tables: &[&str]) -> Result<Option<String>, Error> {
        let mut out = String::new();
        for name in tables {
            let t = self.table(name)?;
            let meta = std::fs::metadata(&t.path).map_err(|source| {
                Error::new(ErrorKind::Io {
                    path: t.path.clone(),
                    source,
                })
            })?;
            let s = Stamp::of(&meta);
            let modified = s
                .modified
                .and_then(|m| m.duration_since(SystemTime::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos());
            #[cfg(unix)]
            let inode = format!("{:?}", s.inode);
            #[cfg(not(unix))]
            let inode = String::new();
            out.push_str(&format!(
                "{}\0{}\0{}\0{modified}\0{inode}\n",
                t.name,
                t.path.display(),
                s.len
            ));
        }
        Ok(Some(out))
    }
}

/// The functions the guard's SQL calls that polars does not have: the keyed
/// order hash.
struct GuardFunctions;

impl FunctionRegistry for GuardFunctions {
    fn register(&mut self, _name: &str, _fun: UserDefinedFunction) -> PolarsResult<()> {
        polars_bail!(ComputeError: "functions cannot be registered")
    }

    fn get_udf(&self, name: &str) -> PolarsResult<Option<UserDefinedFunction>> {
        if name != POLARS_ORDER_HASH {
            return Ok(None);
        }
        let f = BaseColumnUdf::new(order_hash, |_: &Schema, fields: &[Field]| {
            let name = fields.get(1).map(|f| f.name().clone()).unwrap_or_default();
            Ok(Field::new(name, DataType::String))
        });
        Ok(Some(UserDefinedFunction::new(POLARS_ORDER_HASH.into(), f)))
    }

    fn contains(&self, name: &str) -> bool {
        name == POLARS_ORDER_HASH
    }
}

/// `sqlveil_order_hash(key, x)`: the hex SHA-256 of the key's text followed
/// by `x` as text, as PostgreSQL computes
/// `sha256(convert_to(key || x::text, 'UTF8'))`; NULL stays NULL.
fn order_hash(cols: &mut [Column]) -> PolarsResult<Column> {
    let [key, value] = cols else {
        polars_bail!(ComputeError: "the order hash takes two arguments");
    };
    let key = key.cast(&DataType::String)?;
    let key = key.str()?.get(0).unwrap_or("").to_string();
    // Times print as PostgreSQL prints them: no zero fraction of a second.
    let time = matches!(value.dtype(), DataType::Datetime(..) | DataType::Time);
    let text = value.cast(&DataType::String)?;
    let out: StringChunked = text
        .str()?
        .iter()
        .map(|v| {
            v.map(|v| {
                let v = match v.split_once('.') {
                    Some((whole, frac)) if time => {
                        let frac = frac.trim_end_matches('0');
                        if frac.is_empty() {
                            whole.to_string()
                        } else {
                            format!("{whole}.{frac}")
                        }
                    }
                    _ => v.to_string(),
                };
                let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
                ctx.update(key.as_bytes());
                ctx.update(v.as_bytes());
                data_encoding::HEXLOWER.encode(ctx.finish().as_ref())
            })
        })
        .collect();
    Ok(out.with_name(value.name().clone()).into_column())
}
