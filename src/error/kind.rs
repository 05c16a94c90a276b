//! The crate's error type.
//!
//! Every fallible call returns [`Error`], an opaque value whose [`kind`]
//! tells what went wrong. `Display` is one sentence and never carries a data
//! value: an engine's own text, which can quote cell values, is reachable only
//! through [`Error::engine_detail_less_safe`].
//!
//! [`kind`]: Error::kind

use std::fmt;
use std::path::{Path, PathBuf};

use super::{ModelError, Refusal};

/// An error from sqlveil.
///
/// The error is opaque: inspect it through [`Error::kind`] and the accessors.
/// Its `Display` is a single sentence that names the file, line, column,
/// table or SQL construct at fault, and never a value from the data.
pub struct Error {
    kind: Box<ErrorKind>,
    // An engine's or parser's raw text; may quote data values, so it is kept
    // out of `Debug` and `Display`.
    detail: Option<Box<str>>,
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// What kind of failure an [`Error`] is.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A rule file could not be read, parsed or validated.
    #[error("{}{message}", rules_at(path.as_deref(), *line, *column))]
    Rules {
        /// The file, when the rules came from a file.
        path: Option<PathBuf>,
        /// 1-based line of the fault, when known.
        line: Option<usize>,
        /// 1-based column of the fault, when known.
        column: Option<usize>,
        /// What is wrong, in one sentence without data values.
        message: String,
    },
    /// The guard refused a query.
    #[error("query refused: {0}")]
    Refused(Refusal),
    /// A data file could not be read or is malformed.
    #[error("data file {}: {message}", path.display())]
    DataFile {
        /// The file at fault.
        path: PathBuf,
        /// What is wrong, in words of sqlveil's own (the engine's text is kept
        /// apart, see [`Error::engine_detail_less_safe`]).
        message: String,
    },
    /// The engine failed to run a query that the guard allowed.
    #[error("the engine failed to run the query ({category} error; its text may quote data values and is withheld)")]
    Engine {
        /// A coarse category of the engine's failure (`compute`, `schema`,
        /// `column_not_found`, …), safe to show and log.
        category: &'static str,
    },
    /// An I/O error on a file that is not a data file (a rule file, an output).
    #[error("cannot read or write {}: {source}", path.display())]
    Io {
        /// The file at fault.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A caller passed an argument that cannot be used.
    #[error("{0}")]
    Usage(String),
    /// The master key is missing or malformed.
    #[error("{0}")]
    Key(String),
    /// A cryptographic operation failed (wrong key, tampered data); no detail
    /// is given, since detail can be a side channel.
    #[error("a cryptographic operation failed (wrong key or tampered data)")]
    Crypto,
    /// A database server could not be connected to.
    #[error("cannot connect to {target}: {reason}")]
    Connection {
        /// The server, as `user@host:port/database` (never the password).
        target: String,
        /// Why, in one sentence.
        reason: String,
    },
    /// The language model failed to answer.
    #[error("{0}")]
    Model(ModelError),
    /// The model's answer held no SQL statement, after every repair attempt.
    #[error("the model's answer holds no SQL statement")]
    NoSql,
    /// A token vault could not be read or written.
    #[error("token vault {}: {message}", path.display())]
    Vault {
        /// The vault file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// An audit log cannot be continued (its tail is torn or does not
    /// verify).
    #[error("audit log {}: {message}", path.display())]
    Audit {
        /// The log's file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

fn rules_at(path: Option<&Path>, line: Option<usize>, column: Option<usize>) -> String {
    match (path, line, column) {
        (Some(p), Some(l), Some(c)) => format!("{}:{l}:{c}: ", p.display()),
        (Some(p), _, _) => format!("{}: ", p.display()),
        (None, Some(l), Some(c)) => format!("rules:{l}:{c}: "),
        _ => "rules: ".to_string(),
    }
}

impl Error {
    pub(crate) fn new(kind: ErrorKind) -> Error {
        Error {
            kind: Box::new(kind),
            detail: None,
        }
    }

    pub(crate) fn rules(path: Option<&Path>, message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Rules {
            path: path.map(Path::to_path_buf),
            line: None,
            column: None,
            message: message.into(),
        })
    }

    pub(crate) fn rules_at(
        path: Option<&Path>,
        at: Option<(usize, usize)>,
        message: impl Into<String>,
    ) -> Error {
        Error::new(ErrorKind::Rules {
            path: path.map(Path::to_path_buf),
            line: at.map(|a| a.0),
            column: at.map(|a| a.1),
            message: message.into(),
        })
    }

    pub(crate) fn data_file(path: &Path, message: impl Into<String>, detail: String) -> Error {
        let mut e = Error::new(ErrorKind::DataFile {
            path: path.to_path_buf(),
            message: message.into(),
        });
        e.detail = Some(detail.into());
        e
    }

    pub(crate) fn engine(category: &'static str, detail: String) -> Error {
        let mut e = Error::new(ErrorKind::Engine { category });
        e.detail = Some(detail.into());
        e
    }

    /// Keeps an engine's or a client library's own text as the less-safe
    /// detail of an error.
    #[allow(dead_code)]
    pub(crate) fn with_detail(mut self, detail: String) -> Error {
        self.detail = Some(detail.into());
        self
    }

    #[allow(dead_code)]
    pub(crate) fn crypto() -> Error {
        Error::new(ErrorKind::Crypto)
    }

    pub(crate) fn usage(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Usage(message.into()))
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// The refusal, when the guard refused the query.
    pub fn refusal(&self) -> Option<&Refusal> {
        match &*self.kind {
            ErrorKind::Refused(r) => Some(r),
            _ => None,
        }
    }

    /// The 1-based line in a rule file, for rule errors.
    pub fn line(&self) -> Option<usize> {
        match &*self.kind {
            ErrorKind::Rules { line, .. } => *line,
            _ => None,
        }
    }

    /// The 1-based column in a rule file, for rule errors.
    pub fn column(&self) -> Option<usize> {
        match &*self.kind {
            ErrorKind::Rules { column, .. } => *column,
            _ => None,
        }
    }

    /// The file at fault, for rule, data file and I/O errors.
    pub fn path(&self) -> Option<&Path> {
        match &*self.kind {
            ErrorKind::Rules { path, .. } => path.as_deref(),
            ErrorKind::DataFile { path, .. }
            | ErrorKind::Io { path, .. }
            | ErrorKind::Vault { path, .. }
            | ErrorKind::Audit { path, .. } => Some(path),
            _ => None,
        }
    }

    /// The engine's own error text, for engine and data file errors.
    ///
    /// **This text can quote cell values** (a failed cast lists the values it
    /// could not convert). Never send it to a model, a log or an end user; it
    /// exists for a developer debugging on their own data.
    pub fn engine_detail_less_safe(&self) -> Option<&str> {
        self.detail.as_deref()
    }

    /// A stable, machine-readable code for the error's kind: the refusal's
    /// reason code for refusals, else one of `rules`, `data_file`, `engine`,
    /// `io`, `usage`, `key`, `crypto`, `vault`, `audit`, `model`, `no_sql`, `connection`.
    pub fn code(&self) -> &'static str {
        match &*self.kind {
            ErrorKind::Rules { .. } => "rules",
            ErrorKind::Refused(r) => r.reason().code(),
            ErrorKind::DataFile { .. } => "data_file",
            ErrorKind::Engine { .. } => "engine",
            ErrorKind::Io { .. } => "io",
            ErrorKind::Usage(_) => "usage",
            ErrorKind::Key(_) => "key",
            ErrorKind::Crypto => "crypto",
            ErrorKind::Vault { .. } => "vault",
            ErrorKind::Audit { .. } => "audit",
            ErrorKind::Model(_) => "model",
            ErrorKind::Connection { .. } => "connection",
            ErrorKind::NoSql => "no_sql",
        }
    }
}

/// For implementations of [`Engine`](crate::Engine) and
/// [`LanguageModel`](crate::LanguageModel) outside this crate.
impl From<ErrorKind> for Error {
    fn from(kind: ErrorKind) -> Error {
        Error::new(kind)
    }
}

impl From<ModelError> for Error {
    fn from(e: ModelError) -> Error {
        Error::new(ErrorKind::Model(e))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.kind, f)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&*self.kind)
    }
}

impl From<Refusal> for Error {
    fn from(r: Refusal) -> Error {
        Error::new(ErrorKind::Refused(r))
    }
}
