//! sqlveil lets a chatbot backend answer questions about tabular data with an
//! LLM while the model never sees personal data.
//!
//! A model's SQL goes through a [`Guard`](guard::Guard), which parses it,
//! follows every output column back to its source columns, and refuses or
//! rewrites the query according to column-level policies written in TOML
//! ([`Policy`]). The guarded query runs on an [`Engine`] — [`PolarsEngine`]
//! over CSV, Parquet and NDJSON files by default.
//!
//! # Entry types
//!
//! The names a backend needs to answer a question are at the root:
//! [`Policy`] (a validated rule file; `rules/reference.toml` shows every
//! key), an [`Engine`] ([`PolarsEngine`]; `PostgresEngine`, `SparkEngine`
//! with their features), a [`LanguageModel`] (`llm::OpenAiModel`,
//! [`llm::ScriptedModel`]), the [`MasterKey`] of the tokens, and [`Chat`],
//! the whole pipeline for one question — scrub, prompt, model, guard,
//! engine, protect, answer, reveal for the user's role ([`Context`]), audit —
//! whose [`ChatAnswer`] holds the answer and the rows. [`run`] runs a
//! guarded query on any engine; [`Error`] and [`ErrorKind`] are every
//! failure, never with a data value in the message.
//!
//! Every other name has one path, one module deep, by stage:
//!
//! - [`error`]: a guard's [`Refusal`](error::Refusal) and a model's
//!   [`ModelError`](error::ModelError);
//! - [`rules`]: the rule file's actions, filters, token classes;
//! - [`schema`]: the [`Catalog`](schema::Catalog) of tables and column
//!   types, and the SQL [`Dialect`](schema::Dialect);
//! - [`tokens`]: keyed reversible tokens and their vaults;
//! - [`transform`]: the pure value transforms (a mask of one value);
//! - [`guard`]: checks and rewrites SQL; returns a
//!   [`GuardedQuery`](guard::GuardedQuery) or a [`Refusal`](error::Refusal)
//!   with a machine-readable [`Reason`](error::Reason);
//! - [`detect`]: PII found in free text (patterns, dictionaries and the
//!   data's own protected values);
//! - [`engine`]: the engines' builders;
//! - [`llm`]: model requests and the bundled models;
//! - [`protect`]: tokens, masks and generalizations of result rows;
//! - [`audit`]: the hash-chained audit log;
//! - [`chat`]: the pipeline's builder, examples and answer segments;
//! - [`eval`]: scoring a model over a question set.
//!
//! # Example
//!
//! ```
//! use sqlveil::{Engine, PolarsEngine, Policy};
//! use sqlveil::error::Reason;
//! use sqlveil::guard::Guard;
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
//! before it is parsed or walked (see [`GuardBuilder`](guard::GuardBuilder)).

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
pub mod error;
pub mod eval;
mod files;
pub mod guard;
mod leak;
pub mod llm;
pub mod protect;
pub mod rules;
pub mod schema;
pub mod tokens;
pub mod transform;

// The entry types, at the root only; every other public name is one module
// deep (`sqlveil::error::Refusal`, `sqlveil::tokens::FileVault`), and has
// that one path.
pub use crate::chat::answer::ChatAnswer;
pub use crate::chat::context::Context;
pub use crate::chat::pipeline::Chat;
pub use crate::engine::contract::{run, Engine};
pub use crate::engine::polars::PolarsEngine;
#[cfg(feature = "postgres")]
pub use crate::engine::postgres::PostgresEngine;
#[cfg(feature = "spark")]
pub use crate::engine::spark::SparkEngine;
pub use crate::error::kind::{Error, ErrorKind};
pub use crate::llm::model::LanguageModel;
pub use crate::rules::policy::Policy;
pub use crate::tokens::key::MasterKey;
/// The polars version sqlveil's results ([`polars::prelude::DataFrame`])
/// are built with, so that a backend uses the same one.
pub use polars;
