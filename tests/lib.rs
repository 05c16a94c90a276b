//! sqlveil's integration tests: one binary, so one link step.

mod util;

mod cli;
mod engine;
mod guard;
mod leaks;
mod rules;
