//! One error type for the whole application; `web::problem` turns it into HTTP in one place.

use crate::domain::case::CaseStatus;
use serde::Serialize;
use utoipa::ToSchema;

/// A problem with one input field: which one (a JSON path such as `reports[3].subject.kind`) and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The same error, placed under a parent path (`subject` + `kind` → `subject.kind`).
    pub fn under(self, parent: &str) -> Self {
        let field = if self.field.is_empty() {
            parent.to_string()
        } else if self.field.starts_with('[') {
            format!("{parent}{}", self.field)
        } else {
            format!("{parent}.{}", self.field)
        };
        Self {
            field,
            message: self.message,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the request has invalid fields")]
    Invalid(Vec<FieldError>),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("sign in required")]
    Unauthenticated,
    #[error("{0}")]
    Forbidden(String),
    #[error("cannot {action} a case that is {from}")]
    IllegalTransition {
        action: &'static str,
        from: CaseStatus,
    },
    #[error("{0}")]
    Conflict(String),
    #[error("too many attempts; try again in {retry_after_secs} seconds")]
    TooManyAttempts { retry_after_secs: i64 },
    #[error("too many requests from this caller; try again in {retry_after_secs} seconds")]
    RateLimited { retry_after_secs: u64 },
    #[error("the request body is larger than the limit of {limit_bytes} bytes")]
    BodyTooLarge { limit_bytes: usize },
    #[error("the request body did not arrive in time; send it without pauses")]
    BodyTimeout,
    #[error("send the body as {0}")]
    UnsupportedMediaType(&'static str),
    /// A body that could not be read at all (cut off, not UTF-8 where text is expected).
    #[error("the request body could not be read: {0}")]
    UnreadableBody(String),
    /// A path parameter of the wrong type (`/cases/abc`).
    #[error("{0}")]
    InvalidPath(String),
    /// The database could not be reached or dropped the connection; kept for the log.
    #[error("the database is unavailable: {0}")]
    Unavailable(sqlx::Error),
    #[error("database error: {0}")]
    Database(sqlx::Error),
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid(vec![FieldError::new(field, message)])
    }

    /// Field errors of a nested input, named under `parent`.
    pub fn under(self, parent: &str) -> Self {
        match self {
            Self::Invalid(errors) => {
                Self::Invalid(errors.into_iter().map(|e| e.under(parent)).collect())
            }
            other => other,
        }
    }
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        if is_connection_loss(&e) {
            return Error::Unavailable(e);
        }
        match e {
            sqlx::Error::RowNotFound => Error::NotFound("record"),
            other => Error::Database(other),
        }
    }
}

/// Whether an error means the database could not be reached or dropped the connection, rather
/// than that the statement was wrong: the request may succeed when sent again a little later.
fn is_connection_loss(e: &sqlx::Error) -> bool {
    match e {
        // No connection within the acquire timeout (the server refuses or is starting up), or the
        // pool is shutting down.
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed => true,
        // A pooled connection broke under the query: reset, closed mid-message, a TLS session
        // torn down, a reply cut short, or a transaction whose BEGIN found the link in a state it
        // could not have been left in.
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::BeginFailed => true,
        // SQLite's connection thread is gone.
        sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|c| is_unavailable_sqlstate(&c)),
        _ => false,
    }
}

/// PostgreSQL classes that mean "not now" rather than "not this": connection exceptions (08…),
/// insufficient resources such as too many connections (53…), and operator intervention such as
/// a shutdown, a crash restart or a server still starting up (57…).
fn is_unavailable_sqlstate(code: &str) -> bool {
    // SQLite's codes are plain numbers and never match these classes.
    code.len() == 5
        && ["08", "53", "57"]
            .iter()
            .any(|class| code.starts_with(class))
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::Internal(format!("stored JSON could not be read: {e}"))
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    /// A database error carrying only a SQLSTATE, as a driver would report it.
    #[derive(Debug)]
    struct Coded(&'static str);

    impl std::fmt::Display for Coded {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "error {}", self.0)
        }
    }

    impl std::error::Error for Coded {}

    impl sqlx::error::DatabaseError for Coded {
        fn message(&self) -> &str {
            self.0
        }
        fn code(&self) -> Option<Cow<'_, str>> {
            Some(Cow::Borrowed(self.0))
        }
        fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
            self
        }
        fn kind(&self) -> sqlx::error::ErrorKind {
            if self.0 == "23505" {
                sqlx::error::ErrorKind::UniqueViolation
            } else {
                sqlx::error::ErrorKind::Other
            }
        }
    }

    fn coded(code: &'static str) -> sqlx::Error {
        sqlx::Error::Database(Box::new(Coded(code)))
    }

    #[test]
    fn a_lost_or_unreachable_database_is_unavailable() {
        use std::io::{Error as IoError, ErrorKind};
        let lost = [
            sqlx::Error::PoolTimedOut,
            sqlx::Error::PoolClosed,
            sqlx::Error::Io(IoError::from(ErrorKind::ConnectionRefused)),
            sqlx::Error::Io(IoError::from(ErrorKind::ConnectionReset)),
            sqlx::Error::Io(IoError::from(ErrorKind::UnexpectedEof)),
            sqlx::Error::Io(IoError::from(ErrorKind::BrokenPipe)),
            sqlx::Error::Tls("close_notify".into()),
            sqlx::Error::Protocol("unexpected message".into()),
            sqlx::Error::BeginFailed,
            sqlx::Error::WorkerCrashed,
            coded("08006"), // connection failure
            coded("08003"), // connection does not exist
            coded("53300"), // too many connections
            coded("57P01"), // terminating connection due to administrator command
            coded("57P02"), // crash shutdown
            coded("57P03"), // the database system is starting up
        ];
        for e in lost {
            let shown = e.to_string();
            assert!(
                matches!(Error::from(e), Error::Unavailable(_)),
                "{shown} should be unavailable"
            );
        }
    }

    #[test]
    fn a_wrong_statement_or_a_lost_race_is_not_unavailable() {
        assert!(matches!(
            Error::from(sqlx::Error::RowNotFound),
            Error::NotFound(_)
        ));
        for e in [
            coded("23505"), // unique violation: retried by `retrying!`
            coded("40001"), // serialization failure: retried by `retrying!`
            coded("42P01"), // undefined table: a bug, not an outage
            coded("5"),     // SQLite busy
            coded("517"),   // SQLite busy snapshot
            sqlx::Error::ColumnNotFound("x".into()),
        ] {
            let shown = e.to_string();
            assert!(
                matches!(Error::from(e), Error::Database(_)),
                "{shown} should stay a database error"
            );
        }
        let lost_race = Error::from(coded("23505"));
        assert!(crate::store::is_retryable(&lost_race));
    }
}
