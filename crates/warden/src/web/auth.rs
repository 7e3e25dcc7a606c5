//! Who is calling: an API bearer token, or a console session cookie.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use axum_extra::extract::CookieJar;

use super::AppState;
use super::throttle::CredentialCheck;
use crate::access::Actor;
use crate::access::identity::{actor_for_session, actor_for_token};
use crate::error::Error;

pub const SESSION_COOKIE: &str = "warden_session";
/// Cookie-authenticated writes must carry this header. Browsers do not let other sites set custom
/// headers without a CORS grant Warden never gives, so its presence proves a same-origin request.
pub const CSRF_HEADER: &str = "x-warden-csrf";

/// The token of an `Authorization: Bearer …` header, if the request carries a well-formed one.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// The console session the request's cookie names, if any.
pub fn session_token(headers: &HeaderMap) -> Option<String> {
    CookieJar::from_headers(headers)
        .get(SESSION_COOKIE)
        .map(|c| c.value().to_string())
}

/// The authenticated caller.
pub struct Authenticated(pub Actor);

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = Error;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if parts.headers.contains_key(header::AUTHORIZATION) {
            let token = bearer_token(&parts.headers).ok_or(Error::Unauthenticated)?;
            let actor = actor_for_token(&state.desk, token).await?;
            CredentialCheck::genuine(&parts.extensions);
            return Ok(Self(actor));
        }
        let session = session_token(&parts.headers).ok_or(Error::Unauthenticated)?;
        let actor = actor_for_session(&state.desk, &session).await?;
        CredentialCheck::genuine(&parts.extensions);
        let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        if !safe && !parts.headers.contains_key(CSRF_HEADER) {
            return Err(Error::Forbidden(format!(
                "cookie-authenticated writes need the {CSRF_HEADER} header"
            )));
        }
        Ok(Self(actor))
    }
}
