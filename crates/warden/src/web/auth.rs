//! Who is calling: an API bearer token, or a console session cookie.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{Method, header};
use axum_extra::extract::CookieJar;

use super::AppState;
use crate::access::Actor;
use crate::access::identity::{actor_for_session, actor_for_token};
use crate::error::Error;

pub const SESSION_COOKIE: &str = "warden_session";
/// Cookie-authenticated writes must carry this header. Browsers do not let other sites set custom
/// headers without a CORS grant Warden never gives, so its presence proves a same-origin request.
pub const CSRF_HEADER: &str = "x-warden-csrf";

/// The authenticated caller.
pub struct Authenticated(pub Actor);

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = Error;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
            let token = value
                .to_str()
                .ok()
                .and_then(|v| v.strip_prefix("Bearer "))
                .ok_or(Error::Unauthenticated)?;
            return Ok(Self(actor_for_token(&state.desk, token.trim()).await?));
        }
        let jar = CookieJar::from_headers(&parts.headers);
        let session = jar.get(SESSION_COOKIE).ok_or(Error::Unauthenticated)?;
        let actor = actor_for_session(&state.desk, session.value()).await?;
        let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        if !safe && !parts.headers.contains_key(CSRF_HEADER) {
            return Err(Error::Forbidden(format!(
                "cookie-authenticated writes need the {CSRF_HEADER} header"
            )));
        }
        Ok(Self(actor))
    }
}
