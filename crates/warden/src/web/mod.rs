//! The HTTP edge: JSON API under `/api/v1` with its OpenAPI document, health and metrics.

pub mod api;
pub mod auth;
pub mod console;
pub mod enforcement_api;
pub mod platform_sim;
pub mod problem;
pub mod search_api;
pub mod views;

use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use tower_http::LatencyUnit;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::desk::Desk;
use problem::Problem;

/// Requests larger than this are refused with 413 before they are read.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

#[derive(Clone)]
pub struct AppState {
    pub desk: Desk,
    openapi: Arc<utoipa::openapi::OpenApi>,
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Warden", description = "The escalations desk of a Trust & Safety team.", version = "1"),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    tags(
        (name = "intake", description = "Reports from every channel"),
        (name = "cases", description = "Case work: detail, notes, tags, consultations, decisions"),
        (name = "queues", description = "Queue health and claims"),
        (name = "consultations", description = "Questions to partner teams"),
        (name = "people", description = "Sign-in, users and tokens"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

fn api_router() -> OpenApiRouter<AppState> {
    use api::*;
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(submit_report))
        .routes(routes!(submit_batch))
        .routes(routes!(get_report))
        .routes(routes!(list_cases))
        .routes(routes!(search_api::search))
        .routes(routes!(get_case))
        .routes(routes!(assign_case))
        .routes(routes!(release_case))
        .routes(routes!(add_note))
        .routes(routes!(change_tags))
        .routes(routes!(request_consultation))
        .routes(routes!(request_info))
        .routes(routes!(receive_info))
        .routes(routes!(enforcement_api::decide))
        .routes(routes!(enforcement_api::decision_form))
        .routes(routes!(enforcement_api::case_enforcement))
        .routes(routes!(enforcement_api::get_decision))
        .routes(routes!(enforcement_api::get_statement))
        .routes(routes!(enforcement_api::list_approvals))
        .routes(routes!(enforcement_api::approve_decision))
        .routes(routes!(enforcement_api::reject_decision))
        .routes(routes!(enforcement_api::account_standing))
        .routes(routes!(
            enforcement_api::list_policies,
            enforcement_api::add_policy
        ))
        .routes(routes!(enforcement_api::policy_versions))
        .routes(routes!(enforcement_api::import_policies))
        .routes(routes!(enforcement_api::export_policies))
        .routes(routes!(enforcement_api::policy_changes))
        .routes(routes!(enforcement_api::mark_policies_seen))
        .routes(routes!(enforcement_api::file_appeal))
        .routes(routes!(enforcement_api::get_appeal))
        .routes(routes!(enforcement_api::decide_appeal))
        .routes(routes!(enforcement_api::list_deliveries))
        .routes(routes!(enforcement_api::retry_delivery))
        .routes(routes!(restrict_case))
        .routes(routes!(list_queues))
        .routes(routes!(claim_next))
        .routes(routes!(list_consultations))
        .routes(routes!(answer_consultation))
        .routes(routes!(sign_in, sign_out))
        .routes(routes!(me))
        .routes(routes!(list_users, create_user))
        .routes(routes!(create_token))
}

/// The OpenAPI document, generated from the handlers.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api_router().split_for_parts().1
}

fn metrics_handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        // Another recorder may already be installed (several servers in one test process).
        let _ = metrics::set_global_recorder(recorder);
        handle
    })
}

pub fn router(desk: Desk) -> Router {
    metrics_handle();
    let (api, spec) = api_router().split_for_parts();
    let state = AppState {
        desk,
        openapi: Arc::new(spec),
    };
    Router::new()
        .merge(api)
        .route("/api/v1/openapi.json", get(openapi_json))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics_text))
        .merge(console::router())
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn(record_request))
        .layer(
            TraceLayer::new_for_http().on_response(
                DefaultOnResponse::new()
                    .level(tracing::Level::INFO)
                    .latency_unit(LatencyUnit::Micros),
            ),
        )
        .with_state(state)
}

async fn openapi_json(State(state): State<AppState>) -> Json<utoipa::openapi::OpenApi> {
    Json((*state.openapi).clone())
}

async fn healthz(State(state): State<AppState>) -> Response {
    match state.desk.db.ping().await {
        Ok(()) => (StatusCode::OK, Json(serde_json::json!({"status": "ok"}))).into_response(),
        Err(_) => Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the database does not answer",
        )
        .into_response(),
    }
}

async fn metrics_text() -> Response {
    let mut res = metrics_handle().render().into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4"),
    );
    res
}

async fn not_found() -> Response {
    Problem::new(StatusCode::NOT_FOUND, "not_found", "no such route").into_response()
}

async fn record_request(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let method = req.method().to_string();
    let started = Instant::now();
    let res = next.run(req).await;
    let status = res.status().as_u16().to_string();
    metrics::histogram!("warden_http_request_seconds", "method" => method.clone(), "route" => route.clone())
        .record(started.elapsed().as_secs_f64());
    metrics::counter!("warden_http_requests_total", "method" => method, "route" => route, "status" => status).increment(1);
    res
}

/// Runs the server until `shutdown` resolves, with the SLA sweeper and the delivery worker beside it.
pub async fn serve(
    desk: Desk,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(desk, listener, shutdown, None).await
}

/// As [`serve`], with more routes beside the desk's (the demo's simulated platform).
pub async fn serve_with(
    desk: Desk,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    extra: Option<Router>,
) -> std::io::Result<()> {
    let sweeper_desk = desk.clone();
    let sweeper = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            if let Err(e) = crate::review::sweep_breaches(&sweeper_desk).await {
                tracing::warn!(error = %e, "SLA sweep failed");
            }
        }
    });
    // Deliveries stop between tries on shutdown; a try cut short is retried after a restart.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let deliverer = crate::enforcement::delivery::Deliverer::new(desk.clone())
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    let delivery = tokio::spawn(deliverer.run(stopped));
    let app = match extra {
        Some(extra) => router(desk).merge(extra),
        None => router(desk),
    };
    let result = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await;
    sweeper.abort();
    let _ = stop.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(15), delivery).await;
    result
}
