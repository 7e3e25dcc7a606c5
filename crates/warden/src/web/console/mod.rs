//! The reviewer console: server-rendered pages (askama templates compiled into the binary), with
//! htmx and a small script vendored into the binary for partial updates and keyboard use. It drives
//! the same operations as the API; what a role may not do is absent from its pages.

mod analytics;
mod banks;
mod dashboard;
pub mod markdown;
mod pages;

use askama::Template;
use axum::Router;
use axum::extract::rejection::RawFormRejection;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum_extra::extract::FormRejection;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use super::AppState;
use super::auth::CSRF_HEADER;
use super::problem::body_error;
use crate::access::identity::{actor_for_session, secret_hash};
use crate::access::{Actor, Permission, allows};
use crate::error::Error;

pub fn router() -> Router<AppState> {
    use pages::*;
    Router::new()
        .route("/", get(queues))
        .route("/sign-in", get(sign_in_page).post(sign_in))
        .route("/sign-out", post(sign_out))
        .route("/my", get(my_work))
        .route("/queues/{queue}/claim", post(claim_next))
        .route("/cases/{id}", get(case_page))
        .route("/cases/{id}/notes", post(add_note))
        .route("/cases/{id}/release", post(release))
        .route("/cases/{id}/consultations", post(ask_consultation))
        .route("/cases/{id}/policy-panel", get(policy_panel))
        .route("/cases/{id}/decision", post(decide))
        .route("/cases/{id}/decision/preview", post(preview))
        .route("/cases/{id}/matches/{match_id}/verdict", post(banks::judge))
        .route("/decisions/{id}/approve", post(approve))
        .route("/decisions/{id}/reject", post(reject))
        .route("/search", get(search))
        .route("/policies", get(policies))
        .route("/policies/{id}", get(policy))
        .route("/banks", get(banks::banks_list))
        .route("/banks/{id}", get(banks::bank))
        .route("/banks/{id}/import", post(banks::import))
        .route(
            "/banks/{id}/entries/{entry_id}/toggle",
            post(banks::toggle_entry),
        )
        .route("/consultations", get(consultations))
        .route("/consultations/{id}/answer", post(answer_consultation))
        .route("/admin", get(admin))
        .route("/admin/users", post(admin_add_user))
        .route("/admin/users/{id}/tokens", post(admin_create_token))
        .route("/settings", get(settings).post(save_settings))
        .route(
            "/analytics",
            get(analytics::analytics_page).post(analytics::analytics_run),
        )
        .route(
            "/analytics/saved/{id}/delete",
            post(analytics::analytics_delete),
        )
        .route("/dashboard", get(dashboard::dashboard_page))
        .route("/alerts", get(dashboard::alerts_page))
        .route("/alerts/{id}/acknowledge", post(dashboard::acknowledge))
        .route("/exposure", post(exposure))
        .route("/static/{file}", get(static_file))
}

/// Files served from the binary: (name, content type, bytes).
const STATIC: &[(&str, &str, &[u8])] = &[
    (
        "htmx-2.0.11.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../../static/htmx-2.0.11.min.js"),
    ),
    (
        "htmx-LICENSE.txt",
        "text/plain; charset=utf-8",
        include_bytes!("../../../static/htmx-LICENSE.txt"),
    ),
    (
        "console.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../../static/console.js"),
    ),
    (
        "uplot-1.6.32.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../../static/uplot-1.6.32.min.js"),
    ),
    (
        "uplot-1.6.32.min.css",
        "text/css; charset=utf-8",
        include_bytes!("../../../static/uplot-1.6.32.min.css"),
    ),
    (
        "uplot-LICENSE.txt",
        "text/plain; charset=utf-8",
        include_bytes!("../../../static/uplot-LICENSE.txt"),
    ),
    (
        "charts.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../../static/charts.js"),
    ),
    (
        "console.css",
        "text/css; charset=utf-8",
        include_bytes!("../../../static/console.css"),
    ),
];

async fn static_file(Path(file): Path<String>) -> Response {
    match STATIC.iter().find(|(name, _, _)| *name == file) {
        Some((_, kind, bytes)) => (
            [
                (header::CONTENT_TYPE, HeaderValue::from_static(kind)),
                (
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("public, max-age=3600"),
                ),
            ],
            *bytes,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// What a page shows inline of a refused input ("field: why; …"), rather than an error page;
/// `None` for errors that are not about the input.
pub(crate) fn problem_text(e: &Error) -> Option<String> {
    match e {
        Error::Invalid(errors) => Some(
            errors
                .iter()
                .map(|f| format!("{}: {}", f.field, f.message))
                .collect::<Vec<_>>()
                .join("; "),
        ),
        _ => None,
    }
}

/// The CSRF token of a session: derived from the session secret, so it needs no storage and a
/// page from another site cannot know it.
pub fn csrf_token(session: &str) -> String {
    hex::encode(Sha256::digest(format!("warden-csrf:{session}").as_bytes()))
}

pub(crate) fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The person using the console, from the session cookie.
pub struct Viewer {
    pub actor: Actor,
    pub session: String,
    pub csrf: String,
    /// Whether the request came from htmx (a fragment is enough).
    pub partial: bool,
    header_csrf: Option<String>,
}

impl Viewer {
    pub fn may(&self, p: Permission) -> bool {
        allows(self.actor.role, p)
    }

    pub fn session_hash(&self) -> String {
        secret_hash(&self.session)
    }

    /// Checks the CSRF token of a write: the form's `csrf` field or the htmx header.
    pub fn check_csrf(&self, form_token: Option<&str>) -> Result<(), ConsoleError> {
        let from_form = form_token.is_some_and(|t| same(t, &self.csrf));
        let from_header = self
            .header_csrf
            .as_deref()
            .is_some_and(|h| same(h, &self.csrf));
        if from_form || from_header {
            Ok(())
        } else {
            Err(ConsoleError::Csrf)
        }
    }
}

/// Why a console request failed; rendered as a page, never as JSON.
#[derive(Debug)]
pub enum ConsoleError {
    /// Not signed in: go to the sign-in page and come back.
    SignIn(String),
    Csrf,
    Domain(Error),
}

impl From<Error> for ConsoleError {
    fn from(e: Error) -> Self {
        Self::Domain(e)
    }
}

impl From<askama::Error> for ConsoleError {
    fn from(e: askama::Error) -> Self {
        Self::Domain(Error::Internal(format!("template: {e}")))
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    status: u16,
    title: String,
    detail: String,
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        let (status, title, detail) = match self {
            Self::SignIn(next) => {
                let next = urlencode(&next);
                return Redirect::to(&format!("/sign-in?next={next}")).into_response();
            }
            Self::Csrf => (
                StatusCode::FORBIDDEN,
                "This form has expired".to_string(),
                "Reload the page and try again.".to_string(),
            ),
            Self::Domain(e) => {
                let problem = super::problem::Problem::from(&e);
                if problem.status >= 500 {
                    tracing::error!(error = %e, "console request failed");
                }
                (
                    StatusCode::from_u16(problem.status)
                        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                    problem.title,
                    problem.detail,
                )
            }
        };
        let page = ErrorPage {
            status: status.as_u16(),
            title,
            detail,
        };
        let body = page.render().unwrap_or_else(|_| "Error".to_string());
        let mut res = (status, Html(body)).into_response();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            res.headers_mut().insert(
                header::RETRY_AFTER,
                super::problem::unavailable_retry_after(),
            );
        }
        res
    }
}

/// A console form. A body too large, too slow or cut off is refused as the API refuses it, with a
/// problem document; fields that do not fit are shown on the error page.
pub struct Form<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Form<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum_extra::extract::Form::<T>::from_request(req, state).await {
            Ok(axum_extra::extract::Form(value)) => Ok(Self(value)),
            Err(FormRejection::RawFormRejection(RawFormRejection::InvalidFormContentType(_))) => {
                Err(
                    Error::UnsupportedMediaType("application/x-www-form-urlencoded")
                        .into_response(),
                )
            }
            Err(FormRejection::RawFormRejection(r)) => {
                Err(body_error(r.status(), &r, r.body_text()).into_response())
            }
            Err(r) => Err(ConsoleError::Domain(Error::field("", r.body_text())).into_response()),
        }
    }
}

/// Percent-encodes a path or query value (askama's encoder; `/` kept).
pub fn urlencode(s: &str) -> String {
    match askama::filters::urlencode(s) {
        Ok(encoded) => encoded.to_string(),
        Err(never) => match never {},
    }
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = ConsoleError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let back = parts
            .uri
            .path_and_query()
            .map_or("/".to_string(), |p| p.as_str().to_string());
        let Some(session) = super::auth::session_token(&parts.headers) else {
            return Err(ConsoleError::SignIn(back));
        };
        let actor = match actor_for_session(&state.desk, &session).await {
            Ok(a) => a,
            Err(Error::Unauthenticated) => return Err(ConsoleError::SignIn(back)),
            Err(e) => return Err(e.into()),
        };
        super::throttle::CredentialCheck::genuine(&parts.extensions);
        let header_csrf = parts
            .headers
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        Ok(Self {
            csrf: csrf_token(&session),
            partial: parts.headers.contains_key("hx-request"),
            actor,
            session,
            header_csrf,
        })
    }
}
