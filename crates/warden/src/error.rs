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
    #[error("the database is unavailable")]
    Unavailable,
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
        match e {
            sqlx::Error::RowNotFound => Error::NotFound("record"),
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                Error::Unavailable
            }
            // PostgreSQL connection exceptions (08…) and operator intervention, e.g. a shutdown (57…).
            sqlx::Error::Database(db)
                if db
                    .code()
                    .is_some_and(|c| c.starts_with("08") || c.starts_with("57")) =>
            {
                Error::Unavailable
            }
            other => Error::Database(other),
        }
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::Internal(format!("stored JSON could not be read: {e}"))
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
