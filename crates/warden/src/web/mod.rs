//! The HTTP edge: JSON API under `/api/v1` with its OpenAPI document, health and metrics.

pub mod alerts_api;
pub mod analytics_api;
pub mod api;
pub mod auth;
pub mod banks_api;
pub mod console;
pub mod enforcement_api;
pub mod platform_sim;
pub mod problem;
pub mod search_api;
pub mod throttle;
pub mod views;

use axum::extract::{ConnectInfo, DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use tower::ServiceExt;
use tower_http::LatencyUnit;
use tower_http::timeout::RequestBodyDeadlineLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::desk::Desk;
use crate::error::Error;
use problem::Problem;
use throttle::{CredentialCheck, Rate, Throttle};

/// Requests larger than this are refused with 413 before they are read.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

#[derive(Clone)]
pub struct AppState {
    pub desk: Desk,
    openapi: Arc<utoipa::openapi::OpenApi>,
    throttle: Arc<Throttle>,
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
        (name = "alerts", description = "Spikes and trends in the desk's own reports"),
        (name = "banks", description = "Banks of known violating media (PDQ hashes) and their entries"),
        (name = "analytics", description = "Read-only SQL over documented views; saved queries"),
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

/// The refusals any operation may answer with, documented once for all of them: each a problem
/// document (`application/problem+json`), as are the ones an operation documents itself.
struct ProblemResponses;

const PROBLEM_RESPONSES: &[(&str, &str)] = &[
    (
        "400",
        "The request could not be read: a path parameter of the wrong type, a body cut off",
    ),
    ("401", "Sign in required: no valid token or session"),
    ("403", "The caller's role or team may not do this"),
    ("404", "No such resource, or not visible to the caller"),
    ("422", "Invalid fields, each named with why"),
    (
        "429",
        "Too many requests from this caller (`rate_limited`) or failed sign-ins (`too_many_attempts`); retry after `Retry-After` seconds",
    ),
    ("503", "The database is unavailable; retry shortly"),
];

const BODY_PROBLEM_RESPONSES: &[(&str, &str)] = &[
    ("408", "The body did not arrive in time"),
    ("413", "The body is larger than the limit"),
    ("415", "The body is not of the documented content type"),
];

const PROBLEM_JSON: &str = "application/problem+json";

impl utoipa::Modify for ProblemResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::schema::{Ref, Type};
        use utoipa::openapi::{
            ContentBuilder, HeaderBuilder, ObjectBuilder, RefOr, ResponseBuilder,
        };
        let problem = || {
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build()
        };
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for op in operations.into_iter().flatten() {
                let responses = &mut op.responses.responses;
                // Problems an operation documents itself are sent as problem+json too.
                for response in responses.values_mut() {
                    if let RefOr::T(response) = response
                        && let Some(RefOr::T(content)) = response.content.get("application/json")
                        && matches!(&content.schema, Some(RefOr::Ref(r)) if r.ref_location.ends_with("/Problem"))
                    {
                        response.content.shift_remove("application/json");
                        response
                            .content
                            .insert(PROBLEM_JSON.into(), RefOr::T(problem()));
                    }
                }
                let with_body = op.request_body.is_some();
                let common = PROBLEM_RESPONSES.iter();
                let body = BODY_PROBLEM_RESPONSES.iter().filter(|_| with_body);
                for (status, description) in common.chain(body) {
                    if responses.contains_key(*status) {
                        continue;
                    }
                    let description = match *status {
                        "413" => format!("{description} of {MAX_BODY_BYTES} bytes"),
                        _ => description.to_string(),
                    };
                    let mut response = ResponseBuilder::new()
                        .description(description)
                        .content(PROBLEM_JSON, problem());
                    if *status == "429" {
                        response = response.header(
                            "Retry-After",
                            HeaderBuilder::new()
                                .schema(Some(
                                    ObjectBuilder::new()
                                        .schema_type(Type::Integer)
                                        .minimum(Some(1)),
                                ))
                                .description(Some("Seconds to wait before trying again"))
                                .build(),
                        );
                    }
                    responses.insert(status.to_string(), RefOr::T(response.build()));
                }
            }
        }
    }
}

/// utoipa writes a `#[serde(flatten)]` field as `allOf` with a reference to the flattened type.
/// Where that type refuses unknown fields (`additionalProperties: false`, as request types do), no
/// object with the view's other fields could match it; such references are inlined as an open copy.
struct FlattenedSchemas;

impl utoipa::Modify for FlattenedSchemas {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::RefOr;
        use utoipa::openapi::schema::{AdditionalProperties, Schema};
        let Some(components) = openapi.components.as_mut() else {
            return;
        };
        let closed: std::collections::HashMap<String, utoipa::openapi::Object> = components
            .schemas
            .iter()
            .filter_map(|(name, schema)| match schema {
                RefOr::T(Schema::Object(object))
                    if matches!(
                        object.additional_properties.as_deref(),
                        Some(AdditionalProperties::FreeForm(false))
                    ) =>
                {
                    let mut open = object.clone();
                    open.additional_properties = None;
                    Some((format!("#/components/schemas/{name}"), open))
                }
                _ => None,
            })
            .collect();
        for schema in components.schemas.values_mut() {
            if let RefOr::T(Schema::AllOf(all)) = schema {
                for part in &mut all.items {
                    if let RefOr::Ref(r) = part
                        && let Some(open) = closed.get(&r.ref_location)
                    {
                        *part = RefOr::T(Schema::Object(open.clone()));
                    }
                }
            }
        }
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
        .routes(routes!(alerts_api::list_alerts))
        .routes(routes!(alerts_api::acknowledge_alert))
        .routes(routes!(alerts_api::scan_alerts))
        .routes(routes!(banks_api::list_banks, banks_api::create_bank))
        .routes(routes!(banks_api::get_bank, banks_api::change_bank))
        .routes(routes!(banks_api::list_entries, banks_api::add_entries))
        .routes(routes!(banks_api::change_entry, banks_api::remove_entry))
        .routes(routes!(banks_api::import_entries))
        .routes(routes!(banks_api::export_entries))
        .routes(routes!(banks_api::case_matches))
        .routes(routes!(banks_api::judge_match))
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
        .routes(routes!(analytics_api::list_views))
        .routes(routes!(analytics_api::run_query))
        .routes(routes!(
            analytics_api::list_saved,
            analytics_api::save_query
        ))
        .routes(routes!(analytics_api::delete_saved))
        .routes(routes!(analytics_api::key_figures))
}

/// The API's routes and its OpenAPI document, generated from the handlers.
fn api_parts() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    use utoipa::Modify;
    let (api, mut spec) = api_router().split_for_parts();
    // After the routes are in: the document's own modifiers run before any path exists.
    ProblemResponses.modify(&mut spec);
    FlattenedSchemas.modify(&mut spec);
    (api, spec)
}

/// The OpenAPI document, generated from the handlers.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api_parts().1
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
    let (api, spec) = api_parts();
    let limits = desk.config.limits.clone();
    let state = AppState {
        desk,
        openapi: Arc::new(spec),
        throttle: Arc::new(Throttle::new(
            Rate::new(limits.requests_per_second, limits.burst),
            Rate::new(limits.anonymous_requests_per_second, limits.anonymous_burst),
        )),
    };
    Router::new()
        .merge(api)
        .route("/api/v1/openapi.json", get(openapi_json))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics_text))
        .merge(console::router())
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        // A body must arrive whole within the deadline, however steadily it trickles in.
        .layer(RequestBodyDeadlineLayer::new(Duration::from_secs(
            limits.body_read_seconds,
        )))
        .layer(middleware::from_fn_with_state(state.clone(), limit_rate))
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
        Err(_) => {
            let mut res = Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the database does not answer",
            )
            .into_response();
            res.headers_mut()
                .insert(header::RETRY_AFTER, problem::unavailable_retry_after());
            res
        }
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

/// Counts the request against its caller's bucket: the API token or console session it carries, or
/// else the address it comes from. Over the limit it is refused before any work is done.
async fn limit_rate(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let address = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
    let headers = req.headers();
    let session = auth::session_token(headers);
    let credential = auth::bearer_token(headers).or(session.as_deref());
    let unproven = match state.throttle.admit(credential, address) {
        Ok(unproven) => unproven,
        Err(wait) => {
            return Error::RateLimited {
                retry_after_secs: throttle::retry_after_secs(wait),
            }
            .into_response();
        }
    };
    let Some(credential) = unproven else {
        return next.run(req).await;
    };
    let check = CredentialCheck::default();
    req.extensions_mut().insert(check.clone());
    let res = next.run(req).await;
    state
        .throttle
        .settle(credential, address, check.is_genuine());
    res
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
        // A sweep held up by an unreachable database is followed by one sweep, not a burst.
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut minutes: u64 = 0;
        loop {
            tick.tick().await;
            if let Err(e) = crate::review::sweep_breaches(&sweeper_desk).await {
                tracing::warn!(error = %e, "SLA sweep failed");
            }
            // Scans are cheap beside the minute, and one that finds nothing new stores nothing.
            if minutes.is_multiple_of(5)
                && let Err(e) = crate::alerts::scan(&sweeper_desk).await
            {
                tracing::warn!(error = %e, "alert scan failed");
            }
            minutes = minutes.wrapping_add(1);
        }
    });
    // Deliveries stop between tries on shutdown; a try cut short is retried after a restart.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let deliverer = crate::enforcement::delivery::Deliverer::new(desk.clone())
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    let checker = crate::matching::checks::MediaChecker::new(desk.clone())
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    let checks = tokio::spawn(checker.run(stopped.clone()));
    let delivery = tokio::spawn(deliverer.run(stopped));
    let header_read = Duration::from_secs(desk.config.limits.header_read_seconds);
    let app = match extra {
        Some(extra) => router(desk).merge(extra),
        None => router(desk),
    };
    let result = serve_connections(listener, app, header_read, shutdown).await;
    sweeper.abort();
    let _ = stop.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(15), delivery).await;
    let _ = tokio::time::timeout(Duration::from_secs(15), checks).await;
    result
}

/// Serves HTTP/1.1 on each accepted connection until `shutdown` resolves, then stops accepting and
/// waits for the requests in flight. A client must send a request's headers within `header_read`
/// or its connection is closed, so slow clients cannot hold connections open.
async fn serve_connections(
    listener: tokio::net::TcpListener,
    app: Router,
    header_read: Duration,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(header_read);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors or a connection reset before it was taken: wait a
                    // moment rather than spin, and go on.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let app = app.clone();
        let service = hyper::service::service_fn(
            move |mut req: axum::http::Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(ConnectInfo(remote));
                app.clone().oneshot(req)
            },
        );
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}
