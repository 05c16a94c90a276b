//! Why a call to a language model failed.

use std::time::Duration;

/// Why a model call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// No answer within the timeout.
    #[error("the model did not answer within {0:?}")]
    Timeout(Duration),
    /// The model's server is rate limiting; `retry_after` is the wait it asked
    /// for, when it said.
    #[error("the model's server is rate limiting requests{}", retry_text(*.retry_after))]
    RateLimited {
        /// How long the server asked to wait.
        retry_after: Option<Duration>,
    },
    /// The model or its server refused the request (a content filter, a 4xx
    /// status other than 429).
    #[error("the model refused the request: {0}")]
    Refused(String),
    /// The server could not be reached or the connection failed, or it
    /// answered with a server error after every retry.
    #[error("cannot reach the model: {0}")]
    Transport(String),
    /// The server answered, but not with something this client understands.
    #[error("the model's answer is malformed: {0}")]
    BadResponse(String),
}

fn retry_text(d: Option<Duration>) -> String {
    match d {
        Some(d) => format!(" (retry after {} s)", d.as_secs_f64()),
        None => String::new(),
    }
}
