//! Spark's errors as sqlveil's: a connection failure is a
//! [`ErrorKind::Connection`] in one sentence; a server error is an engine
//! error of a coarse category, its text (which can quote values and names)
//! kept as the less-safe detail only.

use spark_connect_core::SparkError;

use crate::error::{Error, ErrorKind};

/// gRPC status codes (tonic's `Code` as numbers, as `SparkError` keeps them).
const CANCELLED: i32 = 1;
const UNKNOWN: i32 = 2;
const DEADLINE_EXCEEDED: i32 = 4;
const PERMISSION_DENIED: i32 = 7;
const INTERNAL: i32 = 13;
const UNAVAILABLE: i32 = 14;
const UNAUTHENTICATED: i32 = 16;

/// Whether the error says the server could not be reached or went away,
/// rather than that it refused the query. Spark's own errors carry an error
/// class (its `ErrorInfo`); a status without one comes from the transport:
/// a refused or cut connection (unavailable, unknown, internal), a stream
/// the client gave up on when the connection broke (cancelled), or refused
/// credentials.
pub(super) fn is_connection(e: &SparkError) -> bool {
    e.error_class.is_empty()
        && e.grpc_details().is_none()
        && matches!(
            e.grpc_code,
            Some(
                UNAVAILABLE | UNKNOWN | CANCELLED | INTERNAL | UNAUTHENTICATED | PERMISSION_DENIED
            )
        )
}

/// Why a connection failed, in one sentence without the URL's parameters
/// (which can hold a token).
pub(super) fn connection(target: &str, e: &SparkError) -> Error {
    let reason = match e.grpc_code {
        Some(UNAUTHENTICATED) => "the server refused the credentials (check the token)",
        Some(PERMISSION_DENIED) => "the server refused access to the session",
        _ => "the server cannot be reached or went away (is it running, and are the host and port right?)",
    };
    Error::new(ErrorKind::Connection {
        target: target.to_string(),
        reason: reason.to_string(),
    })
    .with_detail(detail(e))
}

/// A coarse, value-free category for a server error, from Spark's error
/// class and SQLSTATE.
pub(super) fn category(e: &SparkError) -> &'static str {
    let class = e.error_class.as_str();
    let state = e.get_sql_state().unwrap_or_default();
    match class {
        "TABLE_OR_VIEW_NOT_FOUND" => return "table_not_found",
        "OPERATION_CANCELED" => return "timeout",
        "INSUFFICIENT_PERMISSIONS" => return "permission_denied",
        _ => {}
    }
    if class.starts_with("UNRESOLVED_COLUMN") || class.starts_with("UNRESOLVED_FIELD") {
        return "column_not_found";
    }
    if class.starts_with("UNRESOLVED_ROUTINE") {
        return "function_not_found";
    }
    if class.starts_with("PARSE_") {
        return "syntax";
    }
    if e.grpc_code == Some(DEADLINE_EXCEEDED) {
        return "timeout";
    }
    if state == "42501" {
        return "permission_denied";
    }
    if state.starts_with("22") {
        return "data";
    }
    if state.starts_with("42") {
        return "syntax";
    }
    "server"
}

/// The server's text, for [`Error::engine_detail_less_safe`].
pub(super) fn detail(e: &SparkError) -> String {
    let class = if e.error_class.is_empty() {
        String::new()
    } else {
        format!("[{}] ", e.error_class)
    };
    format!("{class}{}", e.message())
}

/// A failure of a query (or of sqlveil's own read of a column) as an error.
pub(super) fn engine(target: &str, e: &SparkError) -> Error {
    if is_connection(e) {
        return connection(target, e);
    }
    Error::engine(category(e), detail(e))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server error as Spark sends it: a class, the SQLSTATE in its
    /// metadata, gRPC's internal code.
    fn classed(class: &str, message: &str) -> SparkError {
        let mut e = SparkError::connect_msg(message);
        e.error_class = class.to_string();
        e.sql_state = match class {
            "CAST_INVALID_INPUT" => Some("22018".to_string()),
            "DIVIDE_BY_ZERO" => Some("22012".to_string()),
            "PARSE_SYNTAX_ERROR" => Some("42601".to_string()),
            _ => None,
        };
        e.grpc_code = Some(13);
        e
    }

    #[test]
    fn categories_name_no_value() {
        let cases = [
            ("TABLE_OR_VIEW_NOT_FOUND", "table_not_found"),
            ("UNRESOLVED_COLUMN.WITH_SUGGESTION", "column_not_found"),
            ("UNRESOLVED_ROUTINE", "function_not_found"),
            ("PARSE_SYNTAX_ERROR", "syntax"),
            ("CAST_INVALID_INPUT", "data"),
            ("DIVIDE_BY_ZERO", "data"),
        ];
        for (class, want) in cases {
            let e = engine("h:1", &classed(class, "The value 'Liam Johnson' is bad"));
            assert!(
                matches!(e.kind(), ErrorKind::Engine { category } if *category == want),
                "{class}: {e:?}"
            );
            assert!(!e.to_string().contains("Liam"), "{e}");
            assert!(e.engine_detail_less_safe().unwrap().contains("Liam"));
        }
    }

    #[test]
    fn transport_failures_are_connection_errors() {
        let mut e = SparkError::connect_msg("[Unavailable] tcp connect error: Connection refused");
        e.grpc_code = Some(UNAVAILABLE);
        let err = engine("127.0.0.1:1", &e);
        assert_eq!(err.code(), "connection");
        assert!(
            err.to_string()
                .starts_with("cannot connect to 127.0.0.1:1: "),
            "{err}"
        );
        let mut cut = SparkError::connect_msg("[Unknown] error reading a body from connection");
        cut.grpc_code = Some(UNKNOWN);
        assert_eq!(engine("h:1", &cut).code(), "connection");
        // A stream the client cancelled when the connection broke.
        let mut cancelled =
            SparkError::connect_msg("[The operation was cancelled] operation was canceled");
        cancelled.grpc_code = Some(CANCELLED);
        assert_eq!(engine("h:1", &cancelled).code(), "connection");
        // A Spark error (with a class) is the server's answer, not the
        // connection's.
        assert_eq!(
            engine("h:1", &classed("INTERNAL_ERROR", "x")).code(),
            "engine"
        );
        let mut late = SparkError::connect_msg("[Deadline] x");
        late.grpc_code = Some(DEADLINE_EXCEEDED);
        assert_eq!(engine("h:1", &late).code(), "engine");
    }
}
