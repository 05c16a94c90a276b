//! Every public type can cross threads (a backend shares one `Chat` among
//! its request handlers), and the types a caller keeps after a panic in
//! another thread do not break unwind safety. Written in aho-corasick's
//! manner: a failure here is a compile error.

use std::panic::{RefUnwindSafe, UnwindSafe};

use sqlveil::audit::{
    AuditEvent, AuditKey, AuditLog, AuditLogBuilder, Break, Decision, Digester, Fsync, ModelUsage,
    Reasons, Redaction, Revealed, Summary, SummaryFilter, Verification, VerifyOptions,
};
use sqlveil::chat::{AnswerSegment, ChatBuilder};
use sqlveil::detect::{
    Detector, Hit, KnownColumnReport, KnownIndexStore, KnownPhase, KnownProgress,
    KnownValuesOptions, KnownValuesReport, Redacted,
};
use sqlveil::error::{ModelError, Reason, Refusal};
use sqlveil::guard::{ColumnRef, GroupCheck, Guard, GuardBuilder, GuardedQuery, OutputColumn};
use sqlveil::llm::{Message, ModelRequest, ModelResponse, Role, ScriptedModel, Usage};
use sqlveil::protect::{ColumnReport, Protected};
use sqlveil::rules::{
    Action, AggregateFunction, ColumnPolicy, Defaults, Detectors, DictionaryDetector, Filter,
    Generalization, InvalidRuleValue, Mask, MaskKind, PatternDetector, TablePolicy, TokenClass,
    TokenMode, Unlisted,
};
use sqlveil::schema::{Catalog, CatalogColumn, CatalogTable, ColumnType, Dialect};
use sqlveil::tokens::{
    FileVault, Insert, MemoryVault, NoTokens, RequestTokens, ResolvedToken, Tokens,
};
use sqlveil::{Chat, ChatAnswer, Context, Error, ErrorKind, MasterKey, PolarsEngine, Policy};

fn send_sync<T: Send + Sync>() {}

fn unwind_safe<T: UnwindSafe + RefUnwindSafe>() {}

/// The values a caller holds: rules, queries, results, reports, errors.
macro_rules! values {
    ($($t:ty),* $(,)?) => {
        #[test]
        fn values_are_send_sync_and_unwind_safe() {
            $(send_sync::<$t>(); unwind_safe::<$t>();)*
        }
    };
}

values!(
    Action,
    AggregateFunction,
    AnswerSegment,
    AuditEvent,
    Break,
    Catalog,
    CatalogColumn,
    CatalogTable,
    ColumnPolicy,
    ColumnRef,
    ColumnReport,
    ColumnType,
    Context,
    Decision,
    Defaults,
    Detectors,
    Dialect,
    DictionaryDetector,
    Filter,
    Fsync,
    Generalization,
    GroupCheck,
    GuardedQuery,
    Hit,
    Insert,
    InvalidRuleValue,
    KnownColumnReport,
    KnownPhase,
    KnownProgress,
    KnownValuesOptions,
    KnownValuesReport,
    Mask,
    MaskKind,
    Message,
    ModelError,
    ModelRequest,
    ModelResponse,
    ModelUsage,
    NoTokens,
    OutputColumn,
    PatternDetector,
    Policy,
    Reason,
    Reasons,
    Redacted,
    Redaction,
    Refusal,
    ResolvedToken,
    Revealed,
    Role,
    Summary,
    SummaryFilter,
    TablePolicy,
    TokenClass,
    TokenMode,
    Unlisted,
    Usage,
    Verification,
    VerifyOptions,
);

/// Values that hold a polars `DataFrame` (whose arrays are `dyn` traits) or
/// a `std::io::Error` (which holds a boxed `dyn Error`): neither is unwind
/// safe in the standard library's sense, so only `Send + Sync` is claimed.
#[test]
fn values_with_frames_or_io_errors_are_send_and_sync() {
    send_sync::<ChatAnswer>();
    send_sync::<Error>();
    send_sync::<ErrorKind>();
    send_sync::<Protected>();
}

/// The services a backend shares among threads.
#[test]
fn services_are_send_and_sync() {
    send_sync::<AuditKey>();
    send_sync::<AuditLog>();
    send_sync::<AuditLogBuilder>();
    send_sync::<Chat>();
    send_sync::<ChatBuilder>();
    send_sync::<Detector>();
    send_sync::<Digester>();
    send_sync::<FileVault>();
    send_sync::<Guard>();
    send_sync::<GuardBuilder>();
    send_sync::<KnownIndexStore>();
    send_sync::<MasterKey>();
    send_sync::<MemoryVault>();
    send_sync::<PolarsEngine>();
    send_sync::<RequestTokens>();
    send_sync::<ScriptedModel>();
    send_sync::<Tokens>();
    #[cfg(feature = "postgres")]
    send_sync::<sqlveil::PostgresEngine>();
    #[cfg(feature = "spark")]
    send_sync::<sqlveil::SparkEngine>();
    #[cfg(feature = "openai")]
    send_sync::<sqlveil::llm::OpenAiModel>();
}
