//! sqlveil's integration tests: one binary, so one link step.

mod util;

mod cli;
mod detect;
mod engine;
mod guard;
mod leaks;
mod protect;
mod rules;
mod tokens;
