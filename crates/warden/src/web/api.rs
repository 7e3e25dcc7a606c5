//! HTTP handlers under `/api/v1`: each reads the request, calls one operation, shapes the answer.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::auth::{Authenticated, SESSION_COOKIE};
use super::problem::{ApiJson, Path, Problem, Query};
use super::views::*;
use crate::access::identity::{self, UserInput};
use crate::access::{Actor, Permission, Role};
use crate::domain::case::CaseStatus;
use crate::domain::priority::Priority;
use crate::domain::report::NewReport;
use crate::error::{Error, Result};
use crate::intake::{self, IntakeReceipt};
use crate::review;
use crate::store::cases::{self, CaseFilter, Who};
use crate::store::users;

fn detail(state: &AppState, file: review::CaseFile) -> Result<CaseDetail> {
    let now = state.desk.now();
    Ok(CaseDetail {
        summary: CaseSummary::of(&file.case, now),
        snapshot: file.case.snapshot.clone(),
        priority_explanation: PriorityExplanation {
            priority: file.case.priority,
            score: file.case.score,
            factors: file.case.factors.clone(),
        },
        reports: file
            .reports
            .into_iter()
            .map(ReportView::of)
            .collect::<Result<_>>()?,
        timeline: file.events,
        notes: file.notes.into_iter().map(NoteView::from).collect(),
        consultations: file
            .consultations
            .into_iter()
            .map(|c| ConsultationView::of(c, now))
            .collect(),
        related: file
            .related
            .iter()
            .map(|c| CaseSummary::of(c, now))
            .collect(),
    })
}

async fn detail_of(state: &AppState, actor: &Actor, id: i64) -> Result<Json<CaseDetail>> {
    Ok(Json(detail(
        state,
        review::case_file(&state.desk, actor, id).await?,
    )?))
}

// ---------------------------------------------------------------- intake

/// Submit one report. A replay of the same idempotency key returns the first receipt (200).
#[utoipa::path(post, path = "/api/v1/reports", tag = "intake", request_body = NewReport,
    responses((status = 201, body = IntakeReceipt), (status = 200, description = "replay of an earlier request", body = IntakeReceipt),
              (status = 422, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn submit_report(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    ApiJson(report): ApiJson<NewReport>,
) -> Result<Response> {
    let receipt = intake::submit(&state.desk, &actor, report).await?;
    let status = if receipt.replayed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(receipt)).into_response())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportBatch {
    /// At most 1,000 reports; accepted all together or not at all.
    pub reports: Vec<NewReport>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BatchReceipt {
    pub receipts: Vec<IntakeReceipt>,
}

/// Submit up to 1,000 reports in one request, all or nothing.
#[utoipa::path(post, path = "/api/v1/reports/batch", tag = "intake", request_body = ReportBatch,
    responses((status = 200, body = BatchReceipt), (status = 422, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn submit_batch(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    ApiJson(batch): ApiJson<ReportBatch>,
) -> Result<Json<BatchReceipt>> {
    let receipts = intake::submit_batch(&state.desk, &actor, batch.reports, true).await?;
    Ok(Json(BatchReceipt { receipts }))
}

#[utoipa::path(get, path = "/api/v1/reports/{id}", tag = "intake", params(("id" = i64, Path)),
    responses((status = 200, body = ReportView), (status = 404, body = Problem)))]
pub async fn get_report(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Path(id): Path<i64>,
) -> Result<Json<ReportView>> {
    actor.require(Permission::ReadCases)?;
    let report = cases::get_report(&state.desk.db, id)
        .await?
        .ok_or(Error::NotFound("report"))?;
    let case = cases::get_case(&state.desk.db, report.case_id)
        .await?
        .ok_or(Error::NotFound("report"))?;
    if !actor.may_see(&case) {
        return Err(Error::NotFound("report"));
    }
    Ok(Json(ReportView::of(report)?))
}

// ---------------------------------------------------------------- cases

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CaseQuery {
    pub status: Option<String>,
    pub queue: Option<String>,
    pub assignee: Option<i64>,
    /// P0 … P4
    pub priority: Option<String>,
    pub breached: Option<bool>,
    /// Return cases with ids below this (the `next` of the previous page).
    pub before: Option<i64>,
    /// 1–200, default 50.
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CasePage {
    pub cases: Vec<CaseSummary>,
    /// Pass as `before` for the next page; absent on the last page.
    pub next: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/cases", tag = "cases", params(CaseQuery),
    responses((status = 200, body = CasePage), (status = 422, body = Problem)))]
pub async fn list_cases(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Query(q): Query<CaseQuery>,
) -> Result<Json<CasePage>> {
    actor.require(Permission::ReadCases)?;
    let mut c = crate::domain::validate::Checker::new();
    let status = q.status.as_deref().and_then(|s| {
        let parsed = CaseStatus::parse(s);
        if parsed.is_none() {
            c.fail("status", "is not a case status");
        }
        parsed
    });
    let priority = q.priority.as_deref().and_then(|s| {
        let parsed = Priority::parse(s);
        if parsed.is_none() {
            c.fail("priority", "must be one of P0, P1, P2, P3, P4");
        }
        parsed
    });
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        c.fail("limit", "must be between 1 and 200");
    }
    c.finish()?;
    let filter = CaseFilter {
        status,
        queue: q.queue,
        assignee: q.assignee,
        priority: priority.map(Priority::rank),
        breached: q.breached,
        before: q.before,
        limit,
    };
    let found = cases::list_cases(&state.desk.db, &filter, &actor.teams).await?;
    let now = state.desk.now();
    let next = (found.len() as i64 == limit)
        .then(|| found.last().map(|c| c.id))
        .flatten();
    Ok(Json(CasePage {
        cases: found.iter().map(|c| CaseSummary::of(c, now)).collect(),
        next,
    }))
}

#[utoipa::path(get, path = "/api/v1/cases/{id}", tag = "cases", params(("id" = i64, Path)),
    responses((status = 200, body = CaseDetail), (status = 404, body = Problem)))]
pub async fn get_case(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Path(id): Path<i64>,
) -> Result<Json<CaseDetail>> {
    detail_of(&state, &actor, id).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignRequest {
    pub assignee: i64,
    pub reason: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/cases/{id}/assign", tag = "cases", params(("id" = i64, Path)), request_body = AssignRequest,
    responses((status = 200, body = CaseSummary), (status = 409, body = Problem), (status = 403, body = Problem)))]
pub async fn assign_case(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Path(id): Path<i64>,
    ApiJson(req): ApiJson<AssignRequest>,
) -> Result<Json<CaseSummary>> {
    let case = review::assign(&state.desk, &actor, id, req.assignee, req.reason.as_deref()).await?;
    Ok(Json(CaseSummary::of(&case, state.desk.now())))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonRequest {
    pub reason: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/cases/{id}/release", tag = "cases", params(("id" = i64, Path)), request_body = ReasonRequest,
    responses((status = 200, body = CaseSummary), (status = 409, body = Problem)))]
pub async fn release_case(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Path(id): Path<i64>,
    ApiJson(req): ApiJson<ReasonRequest>,
) -> Result<Json<CaseSummary>> {
    let case = review::release(&state.desk, &actor, id, req.reason.as_deref()).await?;
    Ok(Json(CaseSummary::of(&case, state.desk.now())))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteRequest {
    pub body: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Created {
    pub id: i64,
}

#[utoipa::path(post, path = "/api/v1/cases/{id}/notes", tag = "cases", params(("id" = i64, Path)), request_body = NoteRequest,
    responses((status = 201, body = Created), (status = 422, body = Problem)))]
pub async fn add_note(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Path(id): Path<i64>,
    ApiJson(req): ApiJson<NoteRequest>,
) -> Result<(StatusCode, Json<Created>)> {
    let id = review::add_note(&state.desk, &actor, id, &req.body).await?;
    Ok((StatusCode::CREATED, Json(Created { id })))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TagsRequest {
    #[serde(default)]
    pub add: Vec<String>,
    #[serde(default)]
    pub remove: Vec<String>,
}

#[utoipa::path(post, path = "/api/v1/cases/{id}/tags", tag = "cases", params(("id" = i64, Path)), request_body = TagsRequest,
    responses((status = 200, body = CaseSummary), (status = 422, body = Problem)))]
pub async fn change_tags(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Path(id): Path<i64>,
    ApiJson(req): ApiJson<TagsRequest>,
) -> Result<Json<CaseSummary>> {
    let case = review::change_tags(&state.desk, &actor, id, &req.add, &req.remove).await?;
    Ok(Json(CaseSummary::of(&case, state.desk.now())))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsultationRequest {
    /// A consultation team from the configuration, e.g. `legal`.
    pub team: String,
    pub question: String,
    pub due_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConsultationCreated {
    pub id: i64,
    pub case: CaseSummary,
}

#[utoipa::path(post, path = "/api/v1/cases/{id}/consultations", tag = "cases", params(("id" = i64, Path)), request_body = ConsultationRequest,
    responses((status = 201, body = ConsultationCreated), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn request_consultation(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Path(id): Path<i64>,
    ApiJson(req): ApiJson<ConsultationRequest>,
) -> Result<(StatusCode, Json<ConsultationCreated>)> {
    let (cid, case) = review::request_consultation(
        &state.desk,
        &actor,
        id,
        &req.team,
        &req.question,
        req.due_at,
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(ConsultationCreated {
            id: cid,
            case: CaseSummary::of(&case, state.desk.now()),
        }),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InfoRequest {
    pub question: String,
}

#[utoipa::path(post, path = "/api/v1/cases/{id}/request-info", tag = "cases", params(("id" = i64, Path)), request_body = InfoRequest,
    responses((status = 200, body = CaseSummary), (status = 409, body = Problem)))]
pub async fn request_info(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Path(id): Path<i64>,
    ApiJson(req): ApiJson<InfoRequest>,
) -> Result<Json<CaseSummary>> {
    let case = review::request_info(&state.desk, &actor, id, &req.question).await?;
    Ok(Json(CaseSummary::of(&case, state.desk.now())))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InfoReceived {
    pub details: String,
}

#[utoipa::path(post, path = "/api/v1/cases/{id}/receive-info", tag = "cases", params(("id" = i64, Path)), request_body = InfoReceived,
    responses((status = 200, body = CaseSummary), (status = 409, body = Problem)))]
pub async fn receive_info(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Path(id): Path<i64>,
    ApiJson(req): ApiJson<InfoReceived>,
) -> Result<Json<CaseSummary>> {
    let case = review::receive_info(&state.desk, &actor, id, &req.details).await?;
    Ok(Json(CaseSummary::of(&case, state.desk.now())))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RestrictionRequest {
    /// The team the case is restricted to; `null` lifts the restriction.
    pub team: Option<String>,
    pub reason: String,
}

#[utoipa::path(post, path = "/api/v1/cases/{id}/restriction", tag = "cases", params(("id" = i64, Path)), request_body = RestrictionRequest,
    responses((status = 200, body = CaseSummary), (status = 403, body = Problem)))]
pub async fn restrict_case(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Path(id): Path<i64>,
    ApiJson(req): ApiJson<RestrictionRequest>,
) -> Result<Json<CaseSummary>> {
    let case = review::restrict(&state.desk, &actor, id, req.team.as_deref(), &req.reason).await?;
    Ok(Json(CaseSummary::of(&case, state.desk.now())))
}

// ---------------------------------------------------------------- queues

#[utoipa::path(get, path = "/api/v1/queues", tag = "queues", responses((status = 200, body = Vec<QueueSummary>)))]
pub async fn list_queues(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
) -> Result<Json<Vec<QueueSummary>>> {
    actor.require(Permission::ReadQueues)?;
    let counts = cases::queue_counts(&state.desk.db, &actor.teams, state.desk.now()).await?;
    Ok(Json(
        state
            .desk
            .config
            .queues
            .iter()
            .map(|q| QueueSummary::of(&q.name, &q.title, counts.iter().find(|c| c.queue == q.name)))
            .collect(),
    ))
}

/// Claim the most urgent case in a queue. 204 when the queue has nothing to claim.
#[utoipa::path(post, path = "/api/v1/queues/{queue}/claim", tag = "queues", params(("queue" = String, Path)),
    responses((status = 200, body = CaseDetail), (status = 204, description = "nothing to claim"), (status = 404, body = Problem)))]
pub async fn claim_next(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Path(queue): Path<String>,
) -> Result<Response> {
    match review::claim_next(&state.desk, &actor, &queue).await? {
        Some(case) => {
            let file = review::file_of(&state.desk, &actor, case).await?;
            Ok(Json(detail(&state, file)?).into_response())
        }
        None => Ok(StatusCode::NO_CONTENT.into_response()),
    }
}

// ---------------------------------------------------------------- consultations

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ConsultationQuery {
    /// Include answered consultations.
    pub all: Option<bool>,
}

/// The consultations of the caller's teams, soonest due first.
#[utoipa::path(get, path = "/api/v1/consultations", tag = "consultations", params(ConsultationQuery),
    responses((status = 200, body = Vec<ConsultationView>)))]
pub async fn list_consultations(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Query(q): Query<ConsultationQuery>,
) -> Result<Json<Vec<ConsultationView>>> {
    if !crate::access::allows(actor.role, Permission::AnswerConsultations)
        && !crate::access::allows(actor.role, Permission::ReadCases)
    {
        return Err(Error::Forbidden(format!(
            "the {} role may not do this",
            actor.role.as_str()
        )));
    }
    let rows =
        cases::consultations_for_teams(&state.desk.db, &actor.teams, q.all.unwrap_or(false), 200)
            .await?;
    let now = state.desk.now();
    Ok(Json(
        rows.into_iter()
            .map(|c| ConsultationView::of(c, now))
            .collect(),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerRequest {
    pub answer: String,
}

#[utoipa::path(post, path = "/api/v1/consultations/{id}/answer", tag = "consultations", params(("id" = i64, Path)), request_body = AnswerRequest,
    responses((status = 200, body = ConsultationView), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn answer_consultation(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Path(id): Path<i64>,
    ApiJson(req): ApiJson<AnswerRequest>,
) -> Result<Json<ConsultationView>> {
    let row = review::answer_consultation(&state.desk, &actor, id, &req.answer).await?;
    Ok(Json(ConsultationView::of(row, state.desk.now())))
}

// ---------------------------------------------------------------- people

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    pub username: String,
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub teams: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub disabled: bool,
}

impl From<users::UserRow> for UserView {
    fn from(u: users::UserRow) -> Self {
        Self {
            id: u.id,
            username: u.username,
            display_name: u.display_name,
            role: u.role,
            teams: u.teams,
            created_at: u.created_at,
            disabled: u.disabled,
        }
    }
}

/// Sign in to the console: sets an HttpOnly, SameSite=Strict session cookie. Needs no credential.
#[utoipa::path(post, path = "/api/v1/session", tag = "people", request_body = SignIn, security(()),
    responses((status = 200, body = UserView), (status = 401, body = Problem)))]
pub async fn sign_in(
    State(state): State<AppState>,
    jar: CookieJar,
    ApiJson(req): ApiJson<SignIn>,
) -> Result<(CookieJar, Json<UserView>)> {
    let (session, user) = identity::sign_in(&state.desk, &req.username, &req.password).await?;
    let cookie = Cookie::build((SESSION_COOKIE, session))
        .http_only(true)
        .same_site(SameSite::Strict)
        .path("/")
        .build();
    Ok((jar.add(cookie), Json(user.into())))
}

/// Sign out: ends the session whose cookie is sent, if any. Needs no other credential.
#[utoipa::path(delete, path = "/api/v1/session", tag = "people", security(()),
    responses((status = 204, description = "signed out")))]
pub async fn sign_out(
    State(state): State<AppState>,
    jar: CookieJar,
) -> Result<(CookieJar, StatusCode)> {
    if let Some(c) = jar.get(SESSION_COOKIE) {
        identity::sign_out(&state.desk, c.value()).await?;
    }
    Ok((
        jar.remove(Cookie::build(SESSION_COOKIE).path("/")),
        StatusCode::NO_CONTENT,
    ))
}

#[utoipa::path(get, path = "/api/v1/me", tag = "people", responses((status = 200, body = Actor), (status = 401, body = Problem)))]
pub async fn me(Authenticated(actor): Authenticated) -> Json<Actor> {
    Json(actor)
}

#[utoipa::path(get, path = "/api/v1/users", tag = "people", responses((status = 200, body = Vec<UserView>), (status = 403, body = Problem)))]
pub async fn list_users(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
) -> Result<Json<Vec<UserView>>> {
    if !crate::access::allows(actor.role, Permission::ManageCases) {
        return Err(Error::Forbidden(format!(
            "the {} role may not do this",
            actor.role.as_str()
        )));
    }
    Ok(Json(
        users::list_users(&state.desk.db)
            .await?
            .into_iter()
            .map(UserView::from)
            .collect(),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUserRequest {
    pub username: String,
    pub display_name: Option<String>,
    pub role: Role,
    #[serde(default)]
    pub teams: Vec<String>,
    /// Required for people; integrations use tokens only.
    pub password: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/users", tag = "people", request_body = NewUserRequest,
    responses((status = 201, body = UserView), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create_user(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    ApiJson(req): ApiJson<NewUserRequest>,
) -> Result<(StatusCode, Json<UserView>)> {
    identity::require_admin(&actor)?;
    let user = identity::create_user(
        &state.desk,
        Who::user(&actor),
        UserInput {
            username: req.username,
            display_name: req.display_name,
            role: req.role,
            teams: req.teams,
            password: req.password,
        },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(user.into())))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTokenRequest {
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenCreated {
    /// Shown once; only its hash is kept.
    pub token: String,
}

#[utoipa::path(post, path = "/api/v1/users/{id}/tokens", tag = "people", params(("id" = i64, Path)), request_body = NewTokenRequest,
    responses((status = 201, body = TokenCreated), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn create_token(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Path(id): Path<i64>,
    ApiJson(req): ApiJson<NewTokenRequest>,
) -> Result<(StatusCode, HeaderMap, Json<TokenCreated>)> {
    identity::require_admin(&actor)?;
    let token = identity::create_token(&state.desk, Who::user(&actor), id, &req.name).await?;
    let mut headers = HeaderMap::new();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok((StatusCode::CREATED, headers, Json(TokenCreated { token })))
}
