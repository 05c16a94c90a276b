//! sqlveil's integration tests: one binary, so one link step.

mod mock_server;
mod planted;
mod util;

#[cfg(feature = "postgres")]
mod analyst;

mod audit;
mod chat;
mod cli;
mod detect;
mod engine;
mod eval;
#[cfg(feature = "postgres")]
mod fuzz;
mod guard;
mod known;
mod layers;
mod leaks;
#[cfg(feature = "openai")]
mod llm;
#[cfg(feature = "postgres")]
mod postgres;
mod protect;
mod reveal;
mod review16;
mod review16b;
mod rules;
#[cfg(feature = "postgres")]
mod soundness;
#[cfg(feature = "spark")]
mod spark;
mod tokens;
mod traits;
