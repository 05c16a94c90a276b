//! sqlveil's integration tests: one binary, so one link step.

mod util;

mod audit;
mod cli;
mod detect;
mod engine;
mod guard;
mod known;
mod leaks;
mod protect;
mod rules;
mod tokens;
