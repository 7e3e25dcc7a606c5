//! HTTP handlers for decisions and their enforcement, the policy registry, appeals and deliveries.

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::StringRejection;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::auth::Authenticated;
use super::problem::{ApiJson, Path, Problem, Query, body_error};
use super::views::CaseSummary;
use crate::access::Permission;
use crate::appeals::{self, AppealDecisionInput, AppealInput};
use crate::domain::enforcement::{self as rules, Standing};
use crate::domain::policy::{Policy, PolicyBook};
use crate::enforcement::{self, DecisionForm, DecisionInput, delivery};
use crate::error::{Error, Result};
use crate::policies::{self, ImportSummary, PolicyChanges};
use crate::store::cases::{self, Who};
use crate::store::enforcement::{
    self as store, ActionRecord, AppealRecord, DecisionRecord, Delivery, DeliveryState,
    MessageRecord, PolicyRecord,
};

// ---------------------------------------------------------------- decisions

#[derive(Debug, Serialize, ToSchema)]
pub struct DecisionReceipt {
    pub decision_id: i64,
    pub decision: DecisionRecord,
    pub case: CaseSummary,
}

fn receipt(
    state: &AppState,
    (decision, case): (DecisionRecord, crate::domain::case::Case),
) -> DecisionReceipt {
    DecisionReceipt {
        decision_id: decision.id,
        decision,
        case: CaseSummary::of(&case, state.desk.now()),
    }
}

/// Decide a case you hold. Actions must be allowed by the policy; actions the two-person rule
/// names wait for a lead (`state: awaiting_approval`), otherwise they take effect at once.
#[utoipa::path(post, path = "/api/v1/cases/{id}/decision", tag = "enforcement", params(("id" = i64, Path)), request_body = DecisionInput,
    responses((status = 201, body = DecisionReceipt), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn decide(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Path(id): Path<i64>,
    ApiJson(req): ApiJson<DecisionInput>,
) -> Result<(StatusCode, Json<DecisionReceipt>)> {
    let done = enforcement::decide(&state.desk, &actor, id, &req).await?;
    Ok((StatusCode::CREATED, Json(receipt(&state, done))))
}

/// What the decision form shows: the policies in effect that fit the case, the account's strike
/// standing and the penalty the thresholds suggest, and which actions need a lead's approval.
#[utoipa::path(get, path = "/api/v1/cases/{id}/decision-form", tag = "enforcement", params(("id" = i64, Path)),
    responses((status = 200, body = DecisionForm), (status = 404, body = Problem)))]
pub async fn decision_form(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Path(id): Path<i64>,
) -> Result<Json<DecisionForm>> {
    Ok(Json(
        enforcement::decision_form(&state.desk, &actor, id).await?,
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EnforcementRecord {
    pub decisions: Vec<DecisionRecord>,
    pub actions: Vec<ActionRecord>,
    pub messages: Vec<MessageRecord>,
    pub appeals: Vec<AppealRecord>,
    pub deliveries: Vec<Delivery>,
}

/// Everything enforced on a case: decisions, actions and their state, messages, appeals and the
/// deliveries to the platform.
#[utoipa::path(get, path = "/api/v1/cases/{id}/enforcement", tag = "enforcement", params(("id" = i64, Path)),
    responses((status = 200, body = EnforcementRecord), (status = 404, body = Problem)))]
pub async fn case_enforcement(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Path(id): Path<i64>,
) -> Result<Json<EnforcementRecord>> {
    actor.require(Permission::ReadCases)?;
    let db = &state.desk.db;
    let case = cases::get_case(db, id)
        .await?
        .ok_or(Error::NotFound("case"))?;
    actor.check_visible(&case)?;
    Ok(Json(EnforcementRecord {
        decisions: store::decisions_for_case(db, id).await?,
        actions: store::actions_for_case(db, id).await?,
        messages: store::messages_for_case(db, id).await?,
        appeals: store::appeals_for_case(db, id).await?,
        deliveries: store::list_deliveries(db, &actor.teams, None, Some(id), 1000).await?,
    }))
}

#[utoipa::path(get, path = "/api/v1/decisions/{id}", tag = "enforcement", params(("id" = i64, Path)),
    responses((status = 200, body = DecisionRecord), (status = 404, body = Problem)))]
pub async fn get_decision(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Path(id): Path<i64>,
) -> Result<Json<DecisionRecord>> {
    Ok(Json(
        enforcement::visible_decision(&state.desk, &actor, id).await?,
    ))
}

/// The statement of reasons of a decision, in the Transparency Database's form. 404 when the
/// decision restricts nothing (or has not taken effect).
#[utoipa::path(get, path = "/api/v1/decisions/{id}/statement", tag = "enforcement", params(("id" = i64, Path)),
    responses((status = 200, description = "the statement, as sent to the Transparency Database"), (status = 404, body = Problem)))]
pub async fn get_statement(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Path(id): Path<i64>,
) -> Result<Json<transparency::Statement>> {
    enforcement::visible_decision(&state.desk, &actor, id).await?;
    store::get_statement(&state.desk.db, id)
        .await?
        .map(Json)
        .ok_or(Error::NotFound("statement"))
}

/// Decisions waiting for a lead's approval, oldest first.
#[utoipa::path(get, path = "/api/v1/approvals", tag = "enforcement",
    responses((status = 200, body = [DecisionRecord]), (status = 403, body = Problem)))]
pub async fn list_approvals(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
) -> Result<Json<Vec<DecisionRecord>>> {
    actor.require(Permission::ApproveDecisions)?;
    Ok(Json(
        store::decisions_awaiting_approval(&state.desk.db, &actor.teams, 500).await?,
    ))
}

/// A lead approves a held decision (never their own): its actions take effect.
#[utoipa::path(post, path = "/api/v1/decisions/{id}/approve", tag = "enforcement", params(("id" = i64, Path)),
    responses((status = 200, body = DecisionReceipt), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn approve_decision(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Path(id): Path<i64>,
) -> Result<Json<DecisionReceipt>> {
    let done = enforcement::approve(&state.desk, &actor, id).await?;
    Ok(Json(receipt(&state, done)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectRequest {
    pub reason: String,
}

/// A lead sends a held decision back to its decider; nothing is delivered.
#[utoipa::path(post, path = "/api/v1/decisions/{id}/reject", tag = "enforcement", params(("id" = i64, Path)), request_body = RejectRequest,
    responses((status = 200, body = DecisionReceipt), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn reject_decision(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Path(id): Path<i64>,
    ApiJson(req): ApiJson<RejectRequest>,
) -> Result<Json<DecisionReceipt>> {
    let done = enforcement::reject(&state.desk, &actor, id, &req.reason).await?;
    Ok(Json(receipt(&state, done)))
}

/// An account's strike standing and the penalty the thresholds suggest next.
#[utoipa::path(get, path = "/api/v1/accounts/{id}/standing", tag = "enforcement", params(("id" = String, Path)),
    responses((status = 200, body = Standing)))]
pub async fn account_standing(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Path(id): Path<String>,
) -> Result<Json<Standing>> {
    actor.require(Permission::ReadCases)?;
    let strikes = store::strikes_for_account(&state.desk.db, &id).await?;
    Ok(Json(rules::standing(
        &state.desk.config.strikes,
        &id,
        &strikes,
        0,
        state.desk.now(),
    )))
}

// ---------------------------------------------------------------- policies

/// The policy registry: the version in effect of every policy, and versions not yet in effect.
#[utoipa::path(get, path = "/api/v1/policies", tag = "policies",
    responses((status = 200, body = [PolicyRecord])))]
pub async fn list_policies(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
) -> Result<Json<Vec<PolicyRecord>>> {
    Ok(Json(policies::current(&state.desk, &actor).await?))
}

/// Add the next version of a policy (or a new policy at version 1).
#[utoipa::path(post, path = "/api/v1/policies", tag = "policies", request_body = Policy,
    responses((status = 201, body = PolicyRecord), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn add_policy(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    ApiJson(policy): ApiJson<Policy>,
) -> Result<(StatusCode, Json<PolicyRecord>)> {
    Ok((
        StatusCode::CREATED,
        Json(policies::add_version(&state.desk, &actor, &policy).await?),
    ))
}

/// Every version of one policy, oldest first.
#[utoipa::path(get, path = "/api/v1/policies/{id}", tag = "policies", params(("id" = String, Path)),
    responses((status = 200, body = [PolicyRecord]), (status = 404, body = Problem)))]
pub async fn policy_versions(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Path(id): Path<String>,
) -> Result<Json<Vec<PolicyRecord>>> {
    Ok(Json(policies::versions(&state.desk, &actor, &id).await?))
}

/// Import a policy book (TOML, as `warden policies export` writes it): all of it or nothing.
#[utoipa::path(post, path = "/api/v1/policies/import", tag = "policies", request_body(content = String, content_type = "application/toml"),
    responses((status = 200, body = ImportSummary), (status = 422, body = Problem)))]
pub async fn import_policies(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    body: std::result::Result<String, StringRejection>,
) -> Result<Json<ImportSummary>> {
    actor.require(Permission::ManagePolicies)?;
    let body = body.map_err(|r| body_error(r.status(), &r, r.body_text()))?;
    let book = PolicyBook::from_toml(&body)?;
    Ok(Json(
        policies::import(&state.desk, Who::user(&actor), &book).await?,
    ))
}

/// The whole registry as a policy book (TOML).
#[utoipa::path(get, path = "/api/v1/policies/export", tag = "policies",
    responses((status = 200, content_type = "application/toml", body = String)))]
pub async fn export_policies(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
) -> Result<Response> {
    actor.require(Permission::ReadPolicies)?;
    let book = policies::export(&state.desk).await?;
    Ok(([(header::CONTENT_TYPE, "application/toml")], book.to_toml()).into_response())
}

/// Policy versions added since you last marked the registry as read.
#[utoipa::path(get, path = "/api/v1/policies/changes", tag = "policies",
    responses((status = 200, body = PolicyChanges)))]
pub async fn policy_changes(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
) -> Result<Json<PolicyChanges>> {
    Ok(Json(policies::changes(&state.desk, &actor).await?))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SeenReceipt {
    pub seen_at: chrono::DateTime<chrono::Utc>,
}

/// Mark the registry as read up to now.
#[utoipa::path(post, path = "/api/v1/policies/changes/seen", tag = "policies",
    responses((status = 200, body = SeenReceipt)))]
pub async fn mark_policies_seen(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
) -> Result<Json<SeenReceipt>> {
    Ok(Json(SeenReceipt {
        seen_at: policies::mark_seen(&state.desk, &actor).await?,
    }))
}

// ---------------------------------------------------------------- appeals

/// File an appeal for the affected user or a reporter, within the window after the decision was
/// communicated. The case reopens into the appeals queue.
#[utoipa::path(post, path = "/api/v1/appeals", tag = "appeals", request_body = AppealInput,
    responses((status = 201, body = AppealRecord), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn file_appeal(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    ApiJson(req): ApiJson<AppealInput>,
) -> Result<(StatusCode, Json<AppealRecord>)> {
    Ok((
        StatusCode::CREATED,
        Json(appeals::file(&state.desk, &actor, &req).await?),
    ))
}

#[utoipa::path(get, path = "/api/v1/appeals/{id}", tag = "appeals", params(("id" = i64, Path)),
    responses((status = 200, body = AppealRecord), (status = 404, body = Problem)))]
pub async fn get_appeal(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Path(id): Path<i64>,
) -> Result<Json<AppealRecord>> {
    Ok(Json(appeals::get(&state.desk, &actor, id).await?))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AppealReceipt {
    pub appeal: AppealRecord,
    pub case: CaseSummary,
}

/// Decide an appeal whose case you hold (never one on your own decision).
#[utoipa::path(post, path = "/api/v1/appeals/{id}/decision", tag = "appeals", params(("id" = i64, Path)), request_body = AppealDecisionInput,
    responses((status = 200, body = AppealReceipt), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn decide_appeal(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Path(id): Path<i64>,
    ApiJson(req): ApiJson<AppealDecisionInput>,
) -> Result<Json<AppealReceipt>> {
    let (appeal, case) = appeals::decide(&state.desk, &actor, id, &req).await?;
    Ok(Json(AppealReceipt {
        appeal,
        case: CaseSummary::of(&case, state.desk.now()),
    }))
}

// ---------------------------------------------------------------- deliveries

#[derive(Debug, Deserialize, IntoParams)]
pub struct DeliveryQuery {
    /// pending | failed | delivered | dead
    pub state: Option<String>,
    pub case_id: Option<i64>,
    pub limit: Option<i64>,
}

/// Deliveries to the platform, newest first; `state=dead` lists the dead letters.
#[utoipa::path(get, path = "/api/v1/deliveries", tag = "deliveries", params(DeliveryQuery),
    responses((status = 200, body = [Delivery]), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn list_deliveries(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Query(q): Query<DeliveryQuery>,
) -> Result<Json<Vec<Delivery>>> {
    let filter =
        match q.state.as_deref() {
            None => None,
            Some(s) => Some(DeliveryState::parse(s).ok_or_else(|| {
                Error::field("state", "must be pending, failed, delivered or dead")
            })?),
        };
    Ok(Json(
        delivery::list(
            &state.desk,
            &actor,
            filter,
            q.case_id,
            q.limit.unwrap_or(100),
        )
        .await?,
    ))
}

/// A lead retries a dead or failing delivery now.
#[utoipa::path(post, path = "/api/v1/deliveries/{id}/retry", tag = "deliveries", params(("id" = i64, Path)),
    responses((status = 200, body = Delivery), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn retry_delivery(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Path(id): Path<i64>,
) -> Result<Json<Delivery>> {
    Ok(Json(delivery::retry(&state.desk, &actor, id).await?))
}
