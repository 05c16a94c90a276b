//! sqlveil lets a chatbot backend answer questions about tabular data with an
//! LLM while the model never sees personal data.
//!
//! A model's SQL goes through a [`Guard`], which parses it, follows every
//! output column back to its source columns, and refuses or rewrites the query
//! according to column-level policies written in TOML ([`Policy`]). The
//! guarded query runs on an [`Engine`] — [`PolarsEngine`] over CSV, Parquet and
//! NDJSON files by default.
//!
//! # Primary types
//!
//! - [`Policy`]: a validated rule file (`rules/reference.toml` shows every key).
//! - [`Guard`]: checks and rewrites SQL; returns a [`GuardedQuery`] or a
//!   [`Refusal`] with a machine-readable [`Reason`].
//! - [`Engine`], [`PolarsEngine`]: run guarded queries, remove groups smaller
//!   than `min_group_size`.
//! - [`Tokens`], [`Protector`], [`Detector`]: keyed reversible tokens, masks
//!   and generalizations of result rows, PII found in free text (patterns,
//!   dictionaries and, with [`Detector::with_known_values`], the data's own
//!   protected values).
//! - [`Chat`]: the whole pipeline for one question — scrub, prompt, a
//!   [`LanguageModel`], guard, engine, protect, answer, reveal for the user's
//!   role, audit ([`chat`] module docs).
//! - [`Error`]: every failure, with an [`ErrorKind`]; never a data value in its
//!   message.
//!
//! # Example
//!
//! ```
//! use sqlveil::{Engine, Guard, PolarsEngine, Policy, Reason};
//!
//! let policy = Policy::from_path("rules/sample.toml")?;
//! let engine = PolarsEngine::open("examples/data", &policy)?;
//! let guard = Guard::new(&policy, engine.catalog())?;
//!
//! // Allowed: the average income per city, over groups of at least 5 customers.
//! let q = guard.check("SELECT city, AVG(income) AS avg_income FROM customers GROUP BY city")?;
//! let rows = sqlveil::run(&engine, &q)?;
//! assert_eq!(rows.get_column_names(), ["city", "avg_income"]);
//!
//! // Refused: SSNs are denied, whatever the query does with them.
//! let err = guard.check("SELECT COUNT(*) FROM customers WHERE ssn LIKE '0%'").unwrap_err();
//! assert_eq!(err.refusal().unwrap().reason(), Reason::DeniedColumn);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Feature flags
//!
//! - `cli` (default): the `sqlveil` command-line tool (turns on `openai`,
//!   `postgres` and `spark`).
//! - `postgres`: `PostgresEngine`, guarded queries on a PostgreSQL server.
//! - `spark`: `SparkEngine`, guarded queries on an Apache Spark cluster over
//!   Spark Connect (compiles gRPC and arrow-rs; building needs `protoc`).
//! - `openai`: `llm::OpenAiModel`, a client for OpenAI-compatible
//!   chat-completions endpoints (OpenAI, vLLM, llama.cpp's server, Ollama).
//!
//! # Untrusted input
//!
//! SQL, rule files and data files are untrusted. None of them can make the
//! library panic; SQL is bounded in length, operator chains and nesting depth
//! before it is parsed or walked (see [`GuardBuilder`]).

// Every public item is documented.
#![deny(missing_docs)]
// Doc links must resolve.
#![deny(rustdoc::broken_intra_doc_links)]
// Public types are debuggable, and nothing is `pub` that cannot be reached.
#![warn(missing_debug_implementations, unreachable_pub)]
// No unsafe code anywhere.
#![forbid(unsafe_code)]
// `unreachable!` is a panic in disguise.
#![forbid(clippy::unreachable)]
// No unwrap or expect on anything input can reach.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
// Doc examples compile without warnings.
#![doc(test(attr(deny(warnings))))]

// The README's Rust example is compiled as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

pub mod audit;
pub mod chat;
pub mod detect;
pub mod engine;
mod error;
pub mod eval;
mod files;
pub mod guard;
pub mod llm;
pub mod protect;
pub mod rules;
pub mod tokens;

pub use crate::chat::{Chat, ChatAnswer, ChatBuilder, Context};
pub use crate::detect::{
    Detector, Hit, KnownColumnReport, KnownIndexStore, KnownPhase, KnownProgress,
    KnownValuesOptions, KnownValuesReport, Redacted,
};
pub use crate::engine::{
    run, Catalog, CatalogColumn, CatalogTable, ColumnType, Engine, PolarsEngine,
};
#[cfg(feature = "postgres")]
pub use crate::engine::{PostgresEngine, PostgresEngineBuilder};
#[cfg(feature = "spark")]
pub use crate::engine::{SparkEngine, SparkEngineBuilder};
pub use crate::error::{Error, ErrorKind};
pub use crate::guard::{
    ColumnRef, Dialect, GroupCheck, Guard, GuardBuilder, GuardedQuery, NoTokens, OutputColumn,
    Reason, Refusal, ResolvedToken, TokenResolver,
};
pub use crate::llm::{LanguageModel, ModelError, ScriptedModel};
pub use crate::protect::{ColumnReport, JsonRows, Protected, Protector};
pub use crate::rules::{
    Action, AggregateFunction, ColumnPolicy, Filter, Generalization, Mask, MaskKind, Policy,
    TokenClass,
};
pub use crate::tokens::{FileVault, MasterKey, MemoryVault, TokenVault, Tokens};
