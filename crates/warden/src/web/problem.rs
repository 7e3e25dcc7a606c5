//! The one place where errors become HTTP: RFC 9457 problem details with stable codes and
//! per-field messages. Database and internal errors are logged, never shown.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
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
            Error::RateLimited { .. } => {
                Problem::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", e.to_string())
            }
            Error::BodyTooLarge { .. } => Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                e.to_string(),
            ),
            Error::BodyTimeout => {
                Problem::new(StatusCode::REQUEST_TIMEOUT, "body_timeout", e.to_string())
            }
            Error::UnsupportedMediaType(_) => Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                e.to_string(),
            ),
            Error::UnreadableBody(_) => {
                Problem::new(StatusCode::BAD_REQUEST, "unreadable_body", e.to_string())
            }
            Error::InvalidPath(_) => {
                Problem::new(StatusCode::BAD_REQUEST, "invalid_path", e.to_string())
            }
            Error::IllegalTransition { .. } => {
                Problem::new(StatusCode::CONFLICT, "illegal_transition", e.to_string())
            }
            Error::Conflict(_) => Problem::new(StatusCode::CONFLICT, "conflict", e.to_string()),
            Error::Unavailable(_) => Problem::new(
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
        match &self {
            Error::Database(_) | Error::Internal(_) => {
                tracing::error!(error = %self, "request failed")
            }
            // Expected while the database restarts; every request says so until it is back.
            Error::Unavailable(_) => tracing::warn!(error = %self, "request failed"),
            _ => {}
        }
        let mut res = Problem::from(&self).into_response();
        if matches!(self, Error::Unavailable(_)) {
            res.headers_mut()
                .insert(header::RETRY_AFTER, unavailable_retry_after());
        }
        if matches!(self, Error::Unauthenticated) {
            res.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        let retry_after = match self {
            Error::TooManyAttempts { retry_after_secs } => Some(retry_after_secs.max(1) as u64),
            Error::RateLimited { retry_after_secs } => Some(retry_after_secs.max(1)),
            _ => None,
        };
        if let Some(secs) = retry_after {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if matches!(self, Error::BodyTooLarge { .. } | Error::BodyTimeout) {
            // The rest of the body is not read: the connection cannot carry another request.
            res.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        res
    }
}

/// How long a client should wait before sending again while the database is unavailable: about
/// as long as a restarting database takes to accept connections again.
pub const UNAVAILABLE_RETRY_AFTER_SECS: u64 = 2;

/// The `Retry-After` value of every 503 for an unavailable database.
pub fn unavailable_retry_after() -> HeaderValue {
    HeaderValue::from(UNAVAILABLE_RETRY_AFTER_SECS)
}

/// A JSON body whose errors name the field: `subject.kind: unknown variant …`.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json") || v.contains("+json"));
        if !is_json {
            return Err(Error::UnsupportedMediaType("application/json"));
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|r| body_error(r.status(), &r, r.body_text()))?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// Why a body could not be read, from the rejection of one of axum's body extractors: too large,
/// too slow (the body deadline), of the wrong type, or cut off.
pub fn body_error(
    status: StatusCode,
    rejection: &(dyn std::error::Error + 'static),
    text: String,
) -> Error {
    let mut cause = Some(rejection);
    while let Some(e) = cause {
        if e.is::<tower_http::timeout::TimeoutError>() {
            return Error::BodyTimeout;
        }
        cause = e.source();
    }
    match status {
        StatusCode::PAYLOAD_TOO_LARGE => Error::BodyTooLarge {
            limit_bytes: super::MAX_BODY_BYTES,
        },
        StatusCode::UNSUPPORTED_MEDIA_TYPE => Error::UnsupportedMediaType("the documented type"),
        _ => Error::UnreadableBody(text),
    }
}

/// axum's `Path`, refusing a parameter of the wrong type with a problem document.
pub struct Path<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Path<T> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Self(value)),
            Err(r) if r.status().is_server_error() => Err(Error::Internal(r.body_text())),
            Err(r) => Err(Error::InvalidPath(r.body_text())),
        }
    }
}

/// axum's `Query`, refusing a query string that does not fit with a field error.
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| Self(value))
            .map_err(|r| unfit_query(&r.body_text()))
    }
}

/// A query string that does not fit (an unknown, repeated or mistyped parameter), as a field error
/// naming the parameter where serde names it.
fn unfit_query(message: &str) -> Error {
    let message = message
        .strip_prefix("Failed to deserialize query string: ")
        .unwrap_or(message);
    for marker in ["unknown field `", "duplicate field `", "missing field `"] {
        if let Some(at) = message.find(marker)
            && let Some(name) = message[at + marker.len()..].split('`').next()
        {
            return Error::field(name, &message[at..]);
        }
    }
    // serde_path_to_error puts the parameter first: "limit: invalid digit found in string".
    match message.split_once(": ") {
        Some((name, reason)) if !name.is_empty() && !name.contains(' ') => {
            Error::field(name, reason)
        }
        _ => Error::field("", message),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_nested_past_the_recursion_limit_is_a_field_error() {
        let depth = 10_000;
        let deep = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        match parse_json::<serde_json::Value>(deep.as_bytes()) {
            Err(Error::Invalid(errors)) => {
                assert!(
                    errors[0].message.contains("recursion limit"),
                    "{}",
                    errors[0].message
                );
            }
            other => panic!("expected a field error, got {other:?}"),
        }
        // Well within the limit, the same shape is read.
        let shallow = format!("{}{}", "[".repeat(100), "]".repeat(100));
        assert!(parse_json::<serde_json::Value>(shallow.as_bytes()).is_ok());
    }

    #[test]
    fn a_query_string_that_does_not_fit_names_its_parameter() {
        let named = |message: &str| match unfit_query(message) {
            Error::Invalid(errors) => errors[0].field.clone(),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            named("Failed to deserialize query string: limit: invalid digit found in string"),
            "limit"
        );
        assert_eq!(
            named(
                "Failed to deserialize query string: unknown field `colour`, expected one of `q`"
            ),
            "colour"
        );
        assert_eq!(
            named("Failed to deserialize query string: something odd"),
            ""
        );
    }
}
