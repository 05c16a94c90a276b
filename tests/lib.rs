//! sqlveil's integration tests: one binary, so one link step.

mod mock_server;
mod planted;
mod util;

mod audit;
mod chat;
mod cli;
mod detect;
mod engine;
mod guard;
mod known;
mod leaks;
#[cfg(feature = "openai")]
mod llm;
#[cfg(feature = "postgres")]
mod postgres;
mod protect;
mod reveal;
mod rules;
mod tokens;
