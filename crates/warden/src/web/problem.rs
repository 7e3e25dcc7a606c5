//! The one place where errors become HTTP: RFC 9457 problem details with stable codes and
//! per-field messages. Database and internal errors are logged, never shown.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use utoipa::ToSchema;

use crate::error::{Error, FieldError};

/// An RFC 9457 problem document.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A stable URI naming the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Stable machine-readable code, e.g. `invalid_fields`.
    pub code: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

impl Problem {
    pub fn new(status: StatusCode, code: &str, detail: impl Into<String>) -> Self {
        Self {
            kind: format!("https://warden.dev/problems/{code}"),
            title: status.canonical_reason().unwrap_or("Error").to_string(),
            status: status.as_u16(),
            detail: detail.into(),
            code: code.to_string(),
            errors: Vec::new(),
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut res = (status, axum::Json(self)).into_response();
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        res
    }
}

impl From<&Error> for Problem {
    fn from(e: &Error) -> Self {
        match e {
            Error::Invalid(errors) => {
                let detail = errors
                    .iter()
                    .map(|f| format!("{}: {}", f.field, f.message))
                    .collect::<Vec<_>>()
                    .join("; ");
                let mut p =
                    Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_fields", detail);
                p.errors = errors.clone();
                p
            }
            Error::NotFound(what) => Problem::new(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("{what} not found"),
            ),
            Error::Unauthenticated => {
                Problem::new(StatusCode::UNAUTHORIZED, "unauthenticated", e.to_string())
            }
            Error::Forbidden(_) => Problem::new(StatusCode::FORBIDDEN, "forbidden", e.to_string()),
            Error::TooManyAttempts { .. } => Problem::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_attempts",
                e.to_string(),
            ),
            Error::IllegalTransition { .. } => {
                Problem::new(StatusCode::CONFLICT, "illegal_transition", e.to_string())
            }
            Error::Conflict(_) => Problem::new(StatusCode::CONFLICT, "conflict", e.to_string()),
            Error::Unavailable => Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the database is unavailable; retry shortly",
            ),
            Error::Database(_) | Error::Internal(_) => Problem::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "an internal error occurred; it has been logged",
            ),
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        if matches!(
            self,
            Error::Database(_) | Error::Internal(_) | Error::Unavailable
        ) {
            tracing::error!(error = %self, "request failed");
        }
        let mut res = Problem::from(&self).into_response();
        if matches!(self, Error::Unauthenticated) {
            res.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Error::TooManyAttempts { retry_after_secs } = self
            && let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string())
        {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
        res
    }
}

/// A JSON body whose errors name the field: `subject.kind: unknown variant …`.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json") || v.contains("+json"));
        if !is_json {
            return Err(Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as application/json",
            )
            .into_response());
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            let status = rejection.status();
            let code = if status == StatusCode::PAYLOAD_TOO_LARGE {
                "body_too_large"
            } else {
                "unreadable_body"
            };
            Problem::new(status, code, rejection.body_text()).into_response()
        })?;
        parse_json(&bytes)
            .map(ApiJson)
            .map_err(IntoResponse::into_response)
    }
}

/// Parses JSON, turning a failure into a field error with the path where it happened.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let base = if path == "." { String::new() } else { path };
        let (field, message) = match inner.classify() {
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                (base, format!("malformed JSON: {inner}"))
            }
            _ => {
                let message = strip_position(&inner.to_string());
                // serde reports a missing field on its parent; name the field itself.
                let named = message
                    .strip_prefix("missing field `")
                    .and_then(|rest| rest.split('`').next())
                    .map(str::to_string);
                match named {
                    Some(name) if base.is_empty() => (name, message),
                    Some(name) => (format!("{base}.{name}"), message),
                    None => (base, message),
                }
            }
        };
        Error::Invalid(vec![FieldError::new(field, message)])
    })?;
    de.end()
        .map_err(|e| Error::Invalid(vec![FieldError::new("", format!("malformed JSON: {e}"))]))?;
    Ok(value)
}

/// "missing field `x` at line 1 column 9" → "missing field `x`"
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}
