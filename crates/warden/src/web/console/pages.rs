//! The console's pages and forms. Each handler reads the request, calls the same operations the API
//! uses, and renders a template; writes answer with a redirect (post/redirect/get).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use serde::Deserialize;

use super::banks::MatchLine;
use super::markdown::{self, DiffLine};
use super::{ConsoleError, Form, Viewer};
use crate::access::identity::{self, UserInput};
use crate::access::{Permission, Role};
use crate::domain::case::{Case, CaseStatus};
use crate::domain::enforcement::{ActionKind, ActionSpec};
use crate::domain::events::{RecordedEvent, Verdict};
use crate::domain::policy::Policy;
use crate::domain::reply::{Audience, Purpose};
use crate::domain::search::SearchQuery;
use crate::enforcement::statement::{StatementFacts, statement_of_reasons};
use crate::enforcement::{self, DecisionForm, DecisionInput, account_of};
use crate::error::{Error, FieldError};
use crate::matching::banks;
use crate::store::cases::{self, CaseFilter, ConsultationRow, NoteRow, QueueCounts, Who};
use crate::store::enforcement::{
    self as store, ActionRecord, AppealRecord, DecisionRecord, DecisionState, MessageRecord,
};
use crate::store::users::{self, UserRow};
use crate::web::AppState;
use crate::web::auth::SESSION_COOKIE;
use crate::web::views::CaseSummary;
use crate::{policies as registry, review};

type Page = Result<Response, ConsoleError>;

pub(super) fn html(t: impl Template) -> Page {
    Ok(Html(t.render()?).into_response())
}

fn back_to(path: &str, done: &str) -> Page {
    let sep = if path.contains('?') { '&' } else { '?' };
    Ok(Redirect::to(&format!("{path}{sep}done={done}")).into_response())
}

// ---------------------------------------------------------------- the frame of every page

pub struct NavItem {
    pub href: &'static str,
    pub label: &'static str,
    pub current: bool,
}

pub struct Flash {
    pub ok: bool,
    pub text: String,
}

/// What every page shows around its content.
pub struct Chrome {
    pub title: String,
    /// The words in the top bar's search box.
    pub query: String,
    pub user: String,
    pub role: &'static str,
    pub csrf: String,
    pub nav: Vec<NavItem>,
    pub exposure: i64,
    pub break_after: i64,
    pub keep_greyscale: bool,
    pub flash: Option<Flash>,
}

#[derive(Deserialize, Default)]
pub struct Done {
    pub(super) done: Option<String>,
}

/// Outcomes of writes, by code, so a link cannot put words on the page.
fn done_text(code: &str) -> Option<&'static str> {
    Some(match code {
        "claimed" => "Case claimed. It is yours until the lease lapses.",
        "nothing" => "Nothing is waiting in that queue.",
        "noted" => "Note added.",
        "released" => "Case released back to its queue.",
        "decided" => "Decision recorded.",
        "held" => "Decision recorded; it waits for a lead's approval before anything is delivered.",
        "approved" => "Decision approved; its actions are being delivered.",
        "rejected" => "Decision sent back to its decider.",
        "answered" => "Answer sent.",
        "asked" => "Question sent; the case waits for the answer and its SLA clock is paused.",
        "user" => "User added.",
        "saved" => "Settings saved.",
        "query_saved" => "Query saved.",
        "query_deleted" => "Saved query deleted.",
        "acknowledged" => "Alert acknowledged.",
        "judged" => "Verdict recorded; it counts in the bank's precision.",
        _ => return None,
    })
}

pub(super) async fn chrome(
    state: &AppState,
    v: &Viewer,
    title: &str,
    current: &str,
    done: &Done,
) -> Result<Chrome, ConsoleError> {
    let mut nav = Vec::new();
    let mut item = |href: &'static str, label: &'static str, show: bool| {
        if show {
            nav.push(NavItem {
                href,
                label,
                current: href == current,
            });
        }
    };
    item("/", "Queues", v.may(Permission::ReadQueues));
    item("/my", "My work", v.may(Permission::WorkCases));
    item("/search", "Search", v.may(Permission::ReadCases));
    item("/policies", "Policies", v.may(Permission::ReadPolicies));
    item("/banks", "Banks", v.may(Permission::ReadBanks));
    item("/dashboard", "Dashboard", v.may(Permission::ReadCases));
    item("/alerts", "Alerts", v.may(Permission::ReadCases));
    item("/analytics", "Analytics", v.may(Permission::RunAnalytics));
    item(
        "/consultations",
        "Consultations",
        v.may(Permission::AnswerConsultations),
    );
    item("/admin", "Admin", v.may(Permission::ManageUsers));
    item("/settings", "Settings", true);
    let db = &state.desk.db;
    Ok(Chrome {
        title: title.to_string(),
        query: String::new(),
        user: v.actor.username.clone(),
        role: v.actor.role.as_str(),
        csrf: v.csrf.clone(),
        nav,
        exposure: store_console::exposures(db, &v.session_hash()).await?,
        break_after: state.desk.config.wellness.break_after_reveals,
        keep_greyscale: store_console::keep_greyscale(db, v.actor.user_id).await?,
        flash: done.done.as_deref().and_then(done_text).map(|t| Flash {
            ok: !matches!(done.done.as_deref(), Some("nothing")),
            text: t.to_string(),
        }),
    })
}

use crate::store::console as store_console;

// ---------------------------------------------------------------- signing in and out

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage {
    next: String,
    error: Option<String>,
    username: String,
    csrf: String,
}

/// Before there is a session, the sign-in form is protected by a double-submit token: a random
/// value in a strict same-site cookie that the form must repeat.
const SIGN_IN_COOKIE: &str = "warden_sign_in";

fn sign_in_token(jar: CookieJar) -> (CookieJar, String) {
    if let Some(t) = jar.get(SIGN_IN_COOKIE).map(|c| c.value().to_string())
        && t.len() == 32
    {
        return (jar, t);
    }
    let t = hex::encode(rand::random::<[u8; 16]>());
    let cookie = Cookie::build((SIGN_IN_COOKIE, t.clone()))
        .http_only(true)
        .same_site(SameSite::Strict)
        .path("/sign-in");
    (jar.add(cookie), t)
}

#[derive(Deserialize)]
pub struct Next {
    next: Option<String>,
}

/// Only paths on this site, so the sign-in page cannot send anyone elsewhere.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_string(),
        _ => "/".to_string(),
    }
}

pub async fn sign_in_page(jar: CookieJar, Query(q): Query<Next>) -> Page {
    let (jar, csrf) = sign_in_token(jar);
    let page = SignInPage {
        next: safe_next(q.next.as_deref()),
        error: None,
        username: String::new(),
        csrf,
    };
    Ok((jar, Html(page.render()?)).into_response())
}

#[derive(Deserialize)]
pub struct SignInForm {
    username: String,
    password: String,
    next: Option<String>,
    #[serde(default)]
    csrf: String,
}

pub async fn sign_in(
    State(state): State<AppState>,
    jar: CookieJar,
    Form(f): Form<SignInForm>,
) -> Result<Response, ConsoleError> {
    let next = safe_next(f.next.as_deref());
    let expected = jar.get(SIGN_IN_COOKIE).map(|c| c.value().to_string());
    if expected.is_none_or(|e| !super::same(&e, &f.csrf)) {
        return Err(ConsoleError::Csrf);
    }
    match identity::sign_in(&state.desk, &f.username, &f.password).await {
        Ok((session, _)) => {
            let cookie = Cookie::build((SESSION_COOKIE, session))
                .http_only(true)
                .same_site(SameSite::Strict)
                .path("/");
            let jar = jar.remove(Cookie::build(SIGN_IN_COOKIE).path("/sign-in"));
            Ok((jar.add(cookie), Redirect::to(&next)).into_response())
        }
        Err(Error::Unauthenticated) => {
            let page = SignInPage {
                next,
                error: Some("That username and password do not match.".into()),
                username: f.username,
                csrf: f.csrf,
            };
            Ok((StatusCode::UNAUTHORIZED, Html(page.render()?)).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct CsrfForm {
    csrf: Option<String>,
}

pub async fn sign_out(
    State(state): State<AppState>,
    v: Viewer,
    jar: CookieJar,
    Form(f): Form<CsrfForm>,
) -> Page {
    v.check_csrf(f.csrf.as_deref())?;
    identity::sign_out(&state.desk, &v.session).await?;
    Ok((
        jar.remove(Cookie::build(SESSION_COOKIE).path("/")),
        Redirect::to("/sign-in"),
    )
        .into_response())
}

// ---------------------------------------------------------------- queues and my work

pub struct QueueRow {
    pub name: String,
    pub title: String,
    pub counts: QueueCounts,
    pub oldest: Option<String>,
}

#[derive(Template)]
#[template(path = "queues.html")]
struct QueuesPage {
    chrome: Chrome,
    queues: Vec<QueueRow>,
    may_claim: bool,
}

fn age(since: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let d = now - since;
    if d.num_days() > 0 {
        format!("{} d {} h", d.num_days(), d.num_hours() % 24)
    } else if d.num_hours() > 0 {
        format!("{} h {} min", d.num_hours(), d.num_minutes() % 60)
    } else {
        format!("{} min", d.num_minutes().max(0))
    }
}

pub async fn queues(State(state): State<AppState>, v: Viewer, Query(done): Query<Done>) -> Page {
    if !v.may(Permission::ReadQueues) {
        // Partners work from their consultations inbox.
        return Ok(Redirect::to(if v.may(Permission::AnswerConsultations) {
            "/consultations"
        } else {
            "/settings"
        })
        .into_response());
    }
    let now = state.desk.now();
    let counts = cases::queue_counts(&state.desk.db, &v.actor.teams, now).await?;
    let queues = state
        .desk
        .config
        .queues
        .iter()
        .map(|q| {
            let counts = counts
                .iter()
                .find(|c| c.queue == q.name)
                .cloned()
                .unwrap_or(QueueCounts {
                    queue: q.name.clone(),
                    open: 0,
                    waiting_for_claim: 0,
                    in_review: 0,
                    waiting: 0,
                    at_risk: 0,
                    breached: 0,
                    oldest_opened_at: None,
                });
            QueueRow {
                name: q.name.clone(),
                title: q.title.clone(),
                oldest: counts.oldest_opened_at.map(|t| age(t, now)),
                counts,
            }
        })
        .collect();
    html(QueuesPage {
        chrome: chrome(&state, &v, "Queues", "/", &done).await?,
        queues,
        may_claim: v.may(Permission::WorkCases),
    })
}

pub async fn claim_next(
    State(state): State<AppState>,
    v: Viewer,
    Path(queue): Path<String>,
    Form(f): Form<CsrfForm>,
) -> Page {
    v.check_csrf(f.csrf.as_deref())?;
    match review::claim_next(&state.desk, &v.actor, &queue).await? {
        Some(case) => back_to(&format!("/cases/{}", case.id), "claimed"),
        None => back_to("/", "nothing"),
    }
}

/// A case as lists show it.
pub struct CaseLine {
    pub summary: CaseSummary,
    pub deadline: DateTime<Utc>,
    pub at_risk: DateTime<Utc>,
}

impl CaseLine {
    fn of(c: &Case, now: DateTime<Utc>) -> Self {
        let summary = CaseSummary::of(c, now);
        let (deadline, at_risk) = if c.sla.first_responded_at.is_none() {
            (
                summary.sla.first_response_due,
                summary.sla.first_response_due
                    - Duration::minutes(c.sla.target.first_response_minutes) / 4,
            )
        } else {
            (
                summary.sla.resolution_due,
                summary.sla.resolution_due - Duration::minutes(c.sla.target.resolution_minutes) / 4,
            )
        };
        Self {
            summary,
            deadline,
            at_risk,
        }
    }
}

#[derive(Template)]
#[template(path = "my_work.html")]
struct MyWorkPage {
    chrome: Chrome,
    cases: Vec<CaseLine>,
}

pub async fn my_work(State(state): State<AppState>, v: Viewer, Query(done): Query<Done>) -> Page {
    v.actor.require(Permission::WorkCases)?;
    let now = state.desk.now();
    let mine = cases::list_cases(
        &state.desk.db,
        &CaseFilter {
            assignee: Some(v.actor.user_id),
            limit: 200,
            ..Default::default()
        },
        &v.actor.teams,
    )
    .await?;
    let mut cases: Vec<CaseLine> = mine
        .iter()
        .filter(|c| c.status.is_open() && c.status != CaseStatus::Decided)
        .map(|c| CaseLine::of(c, now))
        .collect();
    cases.sort_by_key(|c| (c.summary.priority, c.deadline));
    html(MyWorkPage {
        chrome: chrome(&state, &v, "My work", "/my", &done).await?,
        cases,
    })
}

// ---------------------------------------------------------------- the case page

pub struct ReportLine {
    pub id: i64,
    pub received_at: DateTime<Utc>,
    pub source: String,
    pub reporter: String,
    pub reason: String,
    pub text: String,
    pub jurisdiction: String,
}

pub struct MediaItem {
    pub id: String,
    pub url: String,
    pub n: usize,
}

/// The decision form's current values: empty, or what was posted when it needs correcting.
#[derive(Deserialize, Default, Clone)]
pub struct DecisionFormInput {
    #[serde(default)]
    csrf: Option<String>,
    #[serde(default)]
    pub verdict: String,
    #[serde(default)]
    pub policy: String,
    #[serde(default)]
    pub rationale: String,
    #[serde(default)]
    pub explanation: String,
    #[serde(default)]
    pub action: Vec<String>,
    #[serde(default)]
    pub countries: String,
    #[serde(default)]
    pub label_text: String,
    /// `YYYY-MM-DDTHH:MM`, UTC.
    #[serde(default)]
    pub until: String,
}

impl DecisionFormInput {
    pub fn checked(&self, kind: &ActionKind) -> bool {
        self.action.iter().any(|a| a == kind.as_str())
    }
}

/// A policy the form offers.
pub struct PolicyOption {
    pub reference: String,
    pub title: String,
    pub covers: bool,
    pub selected: bool,
}

pub struct ActionOption {
    pub kind: ActionKind,
    pub label: &'static str,
    pub checked: bool,
    pub needs_approval: bool,
}

pub(super) fn action_label(k: ActionKind) -> &'static str {
    match k {
        ActionKind::Remove => "Remove",
        ActionKind::RestrictVisibility => "Restrict visibility",
        ActionKind::AgeRestrict => "Age-restrict",
        ActionKind::Label => "Label",
        ActionKind::Demote => "Demote",
        ActionKind::GeoBlock => "Geo-block",
        ActionKind::Demonetise => "Demonetise",
        ActionKind::Strike => "Strike",
        ActionKind::SuspendAccount => "Suspend account",
        ActionKind::DisableAccount => "Disable account",
        ActionKind::RejectAd => "Reject ad",
        ActionKind::NoAction => "No action",
    }
}

/// The policy panel: the chosen policy's text and only the actions it allows.
#[derive(Template)]
#[template(path = "policy_panel.html")]
pub struct PolicyPanel {
    pub policy: Option<Policy>,
    pub text_html: String,
    pub actions: Vec<ActionOption>,
    pub penalty: Option<String>,
}

fn policy_panel_for(
    policy: Option<Policy>,
    form: &DecisionForm,
    input: &DecisionFormInput,
) -> PolicyPanel {
    let actions = policy
        .as_ref()
        .map(|p| {
            p.allowed_actions
                .iter()
                .map(|k| ActionOption {
                    kind: *k,
                    label: action_label(*k),
                    checked: input.checked(k),
                    needs_approval: form.approval_needed_for.contains(k),
                })
                .collect()
        })
        .unwrap_or_default();
    let penalty = policy.as_ref().and_then(|p| {
        form.policies
            .iter()
            .find(|c| c.policy == p.reference().to_string())
            .and_then(|c| c.penalty_if_struck)
            .map(|pen| {
                serde_json::to_value(pen)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default()
                    .replace('_', " ")
            })
    });
    PolicyPanel {
        text_html: policy
            .as_ref()
            .map(|p| markdown::to_html(&p.text))
            .unwrap_or_default(),
        policy,
        actions,
        penalty,
    }
}

pub struct DecisionLine {
    pub record: DecisionRecord,
    pub decided_by: String,
    pub actions: String,
    pub awaiting: bool,
    pub may_approve: bool,
}

#[derive(Template)]
#[template(path = "case.html")]
struct CasePage {
    chrome: Chrome,
    case: CaseLine,
    snapshot_text: String,
    author: String,
    country: String,
    reach: String,
    media: Vec<MediaItem>,
    matches: Vec<MatchLine>,
    may_judge: bool,
    may_read_banks: bool,
    factors: Vec<String>,
    reports: Vec<ReportLine>,
    timeline: Vec<RecordedEvent>,
    notes: Vec<NoteRow>,
    consultations: Vec<ConsultationRow>,
    related: Vec<CaseSummary>,
    tags: String,
    teams: Vec<String>,
    held_by_me: bool,
    may_release: bool,
    decisions: Vec<DecisionLine>,
    actions: Vec<ActionRecord>,
    messages: Vec<MessageRecord>,
    appeals: Vec<AppealRecord>,
    form: Option<DecisionForm>,
    policy_options: Vec<PolicyOption>,
    panel: Option<PolicyPanel>,
    input: DecisionFormInput,
    errors: Vec<FieldError>,
    standing: String,
}

async fn render_case(
    state: &AppState,
    v: &Viewer,
    id: i64,
    done: &Done,
    input: DecisionFormInput,
    errors: Vec<FieldError>,
) -> Result<(String, String), ConsoleError> {
    let desk = &state.desk;
    let file = review::case_file(desk, &v.actor, id).await?;
    let now = desk.now();
    let c = &file.case;
    let users = users::list_users(&desk.db).await?;
    let name_of = |id: i64| {
        users
            .iter()
            .find(|u| u.id == id)
            .map_or_else(|| format!("user {id}"), |u| u.username.clone())
    };
    let held_by_me = c.is_held_by(v.actor.user_id, now) && v.may(Permission::WorkCases);
    let form = if held_by_me && c.status == CaseStatus::InReview && c.open_appeal.is_none() {
        Some(enforcement::decision_form(desk, &v.actor, id).await?)
    } else {
        None
    };
    let (policy_options, panel, standing) = match &form {
        Some(f) => {
            let chosen = if input.policy.is_empty() {
                f.policies
                    .iter()
                    .find(|p| p.covers_case_area)
                    .map(|p| p.policy.clone())
                    .unwrap_or_default()
            } else {
                input.policy.clone()
            };
            let options = f
                .policies
                .iter()
                .map(|p| PolicyOption {
                    reference: p.policy.clone(),
                    title: p.title.clone(),
                    covers: p.covers_case_area,
                    selected: p.policy == chosen,
                })
                .collect();
            let policy = if chosen.is_empty() {
                None
            } else {
                enforcement::resolve_policy(desk, &chosen, now.date_naive())
                    .await
                    .ok()
            };
            let standing = f.standing.as_ref().map_or_else(
                || "No account is known for this subject.".to_string(),
                |s| {
                    format!(
                        "{}: {} active strike point{} ({} strike{}).",
                        s.account_id,
                        s.active_points,
                        if s.active_points == 1 { "" } else { "s" },
                        s.active_strikes.len(),
                        if s.active_strikes.len() == 1 { "" } else { "s" }
                    )
                },
            );
            (options, Some(policy_panel_for(policy, f, &input)), standing)
        }
        None => (Vec::new(), None, String::new()),
    };
    let decisions = store::decisions_for_case(&desk.db, id)
        .await?
        .into_iter()
        .map(|d| DecisionLine {
            decided_by: if d.automated {
                "the desk (a bank's automatic action)".to_string()
            } else {
                name_of(d.decided_by)
            },
            actions: d
                .actions
                .iter()
                .map(ActionSpec::describe)
                .collect::<Vec<_>>()
                .join("; "),
            awaiting: d.state == DecisionState::AwaitingApproval,
            may_approve: d.state == DecisionState::AwaitingApproval
                && v.may(Permission::ApproveDecisions)
                && d.decided_by != v.actor.user_id,
            record: d,
        })
        .collect();
    let reports = file
        .reports
        .iter()
        .filter_map(|r| {
            let report: crate::domain::report::NewReport = serde_json::from_str(&r.body).ok()?;
            Some(ReportLine {
                id: r.id,
                received_at: r.received_at,
                source: report.source.as_str().replace('_', " "),
                reporter: report.reporter.id,
                reason: report.reason,
                text: report.text.unwrap_or_default(),
                jurisdiction: report.jurisdiction.unwrap_or_default(),
            })
        })
        .collect();
    let s = &c.snapshot;
    let page = CasePage {
        chrome: chrome(state, v, &format!("Case C-{id}"), "", done).await?,
        case: CaseLine::of(c, now),
        snapshot_text: s.text.clone().unwrap_or_default(),
        author: s
            .author_name
            .clone()
            .or_else(|| s.author_id.clone())
            .unwrap_or_default(),
        country: s.country.clone().unwrap_or_default(),
        reach: s.reach.map(|r| r.to_string()).unwrap_or_default(),
        media: s
            .media_urls
            .iter()
            .enumerate()
            .map(|(n, url)| MediaItem {
                id: format!("case-{id}-{n}"),
                url: url.clone(),
                n: n + 1,
            })
            .collect(),
        matches: banks::case_matches(desk, &v.actor, id)
            .await?
            .into_iter()
            .map(|m| MatchLine::of(m, &users))
            .collect(),
        may_judge: v.may(Permission::WorkCases),
        may_read_banks: v.may(Permission::ReadBanks),
        factors: c.factors.iter().map(|f| f.explanation.clone()).collect(),
        reports,
        timeline: file.events.into_iter().rev().collect(),
        notes: file.notes,
        consultations: file.consultations,
        related: file
            .related
            .iter()
            .map(|r| CaseSummary::of(r, now))
            .collect(),
        tags: c.tags.iter().cloned().collect::<Vec<_>>().join(", "),
        teams: desk.config.consultation_teams.clone(),
        held_by_me,
        may_release: held_by_me || v.may(Permission::ManageCases),
        decisions,
        actions: store::actions_for_case(&desk.db, id).await?,
        messages: store::messages_for_case(&desk.db, id).await?,
        appeals: store::appeals_for_case(&desk.db, id).await?,
        form,
        policy_options,
        panel,
        input,
        errors,
        standing,
    };
    Ok((page.render()?, c.status.as_str().to_string()))
}

pub async fn case_page(
    State(state): State<AppState>,
    v: Viewer,
    Path(id): Path<i64>,
    Query(done): Query<Done>,
) -> Page {
    let (body, _) = render_case(
        &state,
        &v,
        id,
        &done,
        DecisionFormInput::default(),
        Vec::new(),
    )
    .await?;
    Ok(Html(body).into_response())
}

#[derive(Deserialize)]
pub struct NoteForm {
    csrf: Option<String>,
    body: String,
}

pub async fn add_note(
    State(state): State<AppState>,
    v: Viewer,
    Path(id): Path<i64>,
    Form(f): Form<NoteForm>,
) -> Page {
    v.check_csrf(f.csrf.as_deref())?;
    review::add_note(&state.desk, &v.actor, id, &f.body).await?;
    back_to(&format!("/cases/{id}"), "noted")
}

pub async fn release(
    State(state): State<AppState>,
    v: Viewer,
    Path(id): Path<i64>,
    Form(f): Form<CsrfForm>,
) -> Page {
    v.check_csrf(f.csrf.as_deref())?;
    review::release(&state.desk, &v.actor, id, None).await?;
    back_to("/my", "released")
}

#[derive(Deserialize)]
pub struct ConsultForm {
    csrf: Option<String>,
    team: String,
    question: String,
    /// Hours until the answer is due.
    #[serde(default)]
    due_hours: Option<i64>,
}

pub async fn ask_consultation(
    State(state): State<AppState>,
    v: Viewer,
    Path(id): Path<i64>,
    Form(f): Form<ConsultForm>,
) -> Page {
    v.check_csrf(f.csrf.as_deref())?;
    let due = state.desk.now() + Duration::hours(f.due_hours.unwrap_or(24).clamp(1, 24 * 14));
    review::request_consultation(&state.desk, &v.actor, id, &f.team, &f.question, due).await?;
    back_to(&format!("/cases/{id}"), "asked")
}

#[derive(Deserialize)]
pub struct PanelQuery {
    policy: Option<String>,
}

/// The policy panel for another choice of policy (htmx swaps it in).
pub async fn policy_panel(
    State(state): State<AppState>,
    v: Viewer,
    Path(id): Path<i64>,
    Query(q): Query<PanelQuery>,
) -> Page {
    let form = enforcement::decision_form(&state.desk, &v.actor, id).await?;
    let policy = match q.policy.as_deref().filter(|p| !p.is_empty()) {
        Some(r) => {
            Some(enforcement::resolve_policy(&state.desk, r, state.desk.now().date_naive()).await?)
        }
        None => None,
    };
    html(policy_panel_for(
        policy,
        &form,
        &DecisionFormInput::default(),
    ))
}

/// The posted form as a decision; a form problem is named like the API's fields.
fn decision_input(f: &DecisionFormInput) -> Result<DecisionInput, Error> {
    let verdict = match f.verdict.as_str() {
        "violating" => Verdict::Violating,
        "not_violating" => Verdict::NotViolating,
        "needs_info" => Verdict::NeedsInfo,
        "refer" => Verdict::Refer,
        _ => return Err(Error::field("verdict", "choose a verdict")),
    };
    let until = if f.until.trim().is_empty() {
        None
    } else {
        Some(
            NaiveDateTime::parse_from_str(f.until.trim(), "%Y-%m-%dT%H:%M")
                .map_err(|_| {
                    Error::field("until", "must be a date and time, e.g. 2026-12-01T18:00")
                })?
                .and_utc(),
        )
    };
    let mut actions = Vec::new();
    for name in &f.action {
        let kind = ActionKind::ALL
            .into_iter()
            .find(|k| k.as_str() == name)
            .ok_or_else(|| Error::field("actions", format!("{name} is not an action")))?;
        let mut a = ActionSpec::new(kind);
        if kind == ActionKind::GeoBlock {
            a.countries = f
                .countries
                .split([',', ' '])
                .map(|c| c.trim().to_ascii_uppercase())
                .filter(|c| !c.is_empty())
                .collect();
        }
        if kind == ActionKind::Label {
            a.text = Some(f.label_text.clone()).filter(|t| !t.trim().is_empty());
        }
        if kind.may_expire() {
            a.until = until;
        }
        actions.push(a);
    }
    if verdict != Verdict::Violating && actions.is_empty() {
        actions.push(ActionSpec::new(ActionKind::NoAction));
    }
    Ok(DecisionInput {
        verdict,
        policy: Some(f.policy.clone()).filter(|p| !p.is_empty()),
        rationale: f.rationale.clone(),
        explanation: Some(f.explanation.clone()).filter(|e| !e.trim().is_empty()),
        actions,
    })
}

pub async fn decide(
    State(state): State<AppState>,
    v: Viewer,
    Path(id): Path<i64>,
    Form(f): Form<DecisionFormInput>,
) -> Page {
    v.check_csrf(f.csrf.as_deref())?;
    let outcome = match decision_input(&f) {
        Ok(input) => enforcement::decide(&state.desk, &v.actor, id, &input).await,
        Err(e) => Err(e),
    };
    match outcome {
        Ok((d, _)) => back_to(
            &format!("/cases/{id}"),
            if d.state == DecisionState::AwaitingApproval {
                "held"
            } else {
                "decided"
            },
        ),
        Err(Error::Invalid(errors)) => {
            let (body, _) = render_case(&state, &v, id, &Done::default(), f, errors).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(body)).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "preview.html")]
struct PreviewPart {
    problems: Vec<String>,
    statement: Option<String>,
    reply: Option<crate::domain::reply::Rendered>,
}

/// What the decision would publish and tell the author, before it is taken.
pub async fn preview(
    State(state): State<AppState>,
    v: Viewer,
    Path(id): Path<i64>,
    Form(f): Form<DecisionFormInput>,
) -> Page {
    v.check_csrf(f.csrf.as_deref())?;
    let desk = &state.desk;
    let file = review::case_file(desk, &v.actor, id).await?;
    let c = &file.case;
    let now = desk.now();
    let mut problems = Vec::new();
    let input = match decision_input(&f) {
        Ok(i) => Some(i),
        Err(Error::Invalid(errs)) => {
            problems.extend(
                errs.into_iter()
                    .map(|e| format!("{}: {}", e.field, e.message)),
            );
            None
        }
        Err(e) => return Err(e.into()),
    };
    let policy = match input.as_ref().and_then(|i| i.policy.clone()) {
        Some(r) => enforcement::resolve_policy(desk, &r, now.date_naive())
            .await
            .ok(),
        None => None,
    };
    let (mut statement, mut reply) = (None, None);
    if let (Some(input), Some(p)) = (&input, &policy) {
        let sources: Vec<_> = file
            .reports
            .iter()
            .filter_map(|r| serde_json::from_str::<crate::domain::report::NewReport>(&r.body).ok())
            .map(|r| r.source)
            .collect();
        let explanation = input.explanation.clone().unwrap_or_default();
        let facts = StatementFacts {
            puid: format!("{}-decision-preview", desk.config.statements.puid_prefix),
            policy: p,
            actions: &input.actions,
            explanation: &explanation,
            subject_kind: c.subject_kind,
            content_language: c.snapshot.language.as_deref(),
            content_date: c.opened_at.date_naive(),
            applied_at: now,
            sources: &sources,
            detected_automatically: !c.triage_input().known_media.is_empty(),
            decided_automatically: false,
        };
        if let Some(s) = statement_of_reasons(&facts) {
            if let Err(v) = s.validate() {
                problems.extend(v.iter().map(|x| format!("statement.{x}")));
            }
            statement = serde_json::to_string_pretty(&s).ok();
            let scope = input
                .actions
                .iter()
                .find(|a| a.kind == ActionKind::GeoBlock)
                .map_or_else(|| "all countries".to_string(), |a| a.countries.join(", "));
            let mut values =
                enforcement::outcome_values(c, Some(p), &input.actions, &explanation, scope, now);
            let until = (now + Duration::days(desk.config.appeals.window_days)).date_naive();
            let lang = desk
                .config
                .templates
                .find(
                    Purpose::OutcomeActionTaken,
                    Audience::AffectedUser,
                    c.snapshot.language.as_deref(),
                )
                .map(|t| t.language.clone())
                .unwrap_or_else(|| "en".into());
            values.insert(
                "redress",
                crate::domain::reply::redress(
                    &lang,
                    Some(until),
                    &desk.config.appeals.out_of_court_body,
                ),
            );
            values.insert("appeal_deadline", until.to_string());
            values.insert(
                "actions",
                input
                    .actions
                    .iter()
                    .map(|a| a.describe_in(&lang))
                    .collect::<Vec<_>>()
                    .join("; "),
            );
            if account_of(c).is_some() {
                reply = desk.config.templates.render(
                    Purpose::OutcomeActionTaken,
                    Audience::AffectedUser,
                    Some(&lang),
                    &values,
                );
            }
        }
    }
    html(PreviewPart {
        problems,
        statement,
        reply,
    })
}

#[derive(Deserialize)]
pub struct RejectForm {
    csrf: Option<String>,
    reason: String,
}

pub async fn approve(
    State(state): State<AppState>,
    v: Viewer,
    Path(id): Path<i64>,
    Form(f): Form<CsrfForm>,
) -> Page {
    v.check_csrf(f.csrf.as_deref())?;
    let (d, _) = enforcement::approve(&state.desk, &v.actor, id).await?;
    back_to(&format!("/cases/{}", d.case_id), "approved")
}

pub async fn reject(
    State(state): State<AppState>,
    v: Viewer,
    Path(id): Path<i64>,
    Form(f): Form<RejectForm>,
) -> Page {
    v.check_csrf(f.csrf.as_deref())?;
    let (d, _) = enforcement::reject(&state.desk, &v.actor, id, &f.reason).await?;
    back_to(&format!("/cases/{}", d.case_id), "rejected")
}

// ---------------------------------------------------------------- search

pub struct SearchRow {
    pub case: CaseSummary,
    /// Escaped, with the matched words in `<mark>`.
    pub snippet_html: String,
    pub snippet_kind: String,
}

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage {
    chrome: Chrome,
    q: SearchQuery,
    rows: Vec<SearchRow>,
    total: i64,
    error: Option<String>,
    statuses: Vec<&'static str>,
    queues: Vec<String>,
    sources: Vec<&'static str>,
    sort_links: Vec<(String, String, bool)>,
    next_page: Option<String>,
    previous_page: Option<String>,
}

fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A search snippet for the page: escaped first, then the matched words (between `**`) marked.
pub fn mark_snippet(text: &str) -> String {
    escape_html(text)
        .split("**")
        .enumerate()
        .map(|(i, part)| {
            if i % 2 == 1 {
                format!("<mark>{part}</mark>")
            } else {
                part.to_string()
            }
        })
        .collect()
}

/// The search as a query string, with some parameters replaced.
fn search_url(q: &SearchQuery, sort: Option<&str>, offset: Option<i64>) -> String {
    let mut pairs: Vec<(&str, String)> = Vec::new();
    let mut add = |k: &'static str, v: &Option<String>| {
        if let Some(v) = v.as_ref().filter(|v| !v.is_empty()) {
            pairs.push((k, v.clone()));
        }
    };
    add("q", &q.q);
    add("status", &q.status);
    add("queue", &q.queue);
    add("policy_area", &q.policy_area);
    add("source", &q.source);
    add("priority", &q.priority);
    add("region", &q.region);
    add("opened_from", &q.opened_from);
    add("opened_to", &q.opened_to);
    add("assignee", &q.assignee);
    add("sort", &sort.map(str::to_string).or_else(|| q.sort.clone()));
    add("limit", &q.limit);
    if let Some(o) = offset.filter(|o| *o > 0) {
        pairs.push(("offset", o.to_string()));
    }
    let query: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", super::urlencode(v)))
        .collect();
    format!("/search?{}", query.join("&"))
}

pub async fn search(
    State(state): State<AppState>,
    v: Viewer,
    Query(q): Query<SearchQuery>,
) -> Page {
    v.actor.require(Permission::ReadCases)?;
    let now = state.desk.now();
    let (rows, total, error, limit, offset) =
        match crate::store::search::search(&state.desk.db, &q, &v.actor.teams).await {
            Ok(page) => (
                page.hits
                    .into_iter()
                    .map(|h| SearchRow {
                        case: CaseSummary::of(&h.case, now),
                        snippet_html: h
                            .snippet
                            .as_ref()
                            .map(|s| mark_snippet(&s.text))
                            .unwrap_or_default(),
                        snippet_kind: h
                            .snippet
                            .map(|s| s.kind.as_str().to_string())
                            .unwrap_or_default(),
                    })
                    .collect(),
                page.total,
                None,
                page.limit,
                page.offset,
            ),
            Err(Error::Invalid(errs)) => (
                Vec::new(),
                0,
                Some(
                    errs.iter()
                        .map(|e| format!("{}: {}", e.field, e.message))
                        .collect::<Vec<_>>()
                        .join("; "),
                ),
                50,
                0,
            ),
            Err(e) => return Err(e.into()),
        };
    let current = q.sort.clone().unwrap_or_default();
    let sort_links = [
        ("priority", "Priority"),
        ("-opened", "Newest"),
        ("opened", "Oldest"),
        ("deadline", "Deadline"),
        ("-updated", "Recently changed"),
    ]
    .into_iter()
    .map(|(key, label)| {
        (
            search_url(&q, Some(key), None),
            label.to_string(),
            current == key,
        )
    })
    .collect();
    let mut frame = chrome(&state, &v, "Search", "/search", &Done::default()).await?;
    frame.query = q.q.clone().unwrap_or_default();
    html(SearchPage {
        chrome: frame,
        next_page: (offset + limit < total).then(|| search_url(&q, None, Some(offset + limit))),
        previous_page: (offset > 0).then(|| search_url(&q, None, Some((offset - limit).max(0)))),
        rows,
        total,
        error,
        statuses: CaseStatus::ALL.iter().map(|s| s.as_str()).collect(),
        queues: state
            .desk
            .config
            .queues
            .iter()
            .map(|q| q.name.clone())
            .collect(),
        sources: crate::domain::report::Source::ALL
            .iter()
            .map(|s| s.as_str())
            .collect(),
        sort_links,
        q,
    })
}

// ---------------------------------------------------------------- policies

pub struct PolicyLine {
    pub id: String,
    pub version: i64,
    pub title: String,
    pub effective: String,
    pub severity: String,
    pub jurisdiction: String,
    pub upcoming: bool,
}

#[derive(Template)]
#[template(path = "policies.html")]
struct PoliciesPage {
    chrome: Chrome,
    policies: Vec<PolicyLine>,
    changed: Vec<String>,
}

pub async fn policies(State(state): State<AppState>, v: Viewer) -> Page {
    let today = state.desk.now().date_naive();
    let current = registry::current(&state.desk, &v.actor).await?;
    let changes = registry::changes(&state.desk, &v.actor).await?;
    let changed = if changes.last_seen.is_some() {
        changes
            .changed
            .iter()
            .map(|r| r.policy.reference().to_string())
            .collect()
    } else {
        Vec::new()
    };
    registry::mark_seen(&state.desk, &v.actor).await?;
    html(PoliciesPage {
        chrome: chrome(&state, &v, "Policies", "/policies", &Done::default()).await?,
        policies: current
            .into_iter()
            .map(|r| PolicyLine {
                upcoming: r.policy.effective > today,
                id: r.policy.id,
                version: r.policy.version,
                title: r.policy.title,
                effective: r.policy.effective.to_string(),
                severity: format!("{:?}", r.policy.severity).to_lowercase(),
                jurisdiction: r.policy.jurisdiction.unwrap_or_default(),
            })
            .collect(),
        changed,
    })
}

#[derive(Deserialize)]
pub struct VersionQuery {
    version: Option<i64>,
    compare: Option<i64>,
}

#[derive(Template)]
#[template(path = "policy.html")]
struct PolicyPage {
    chrome: Chrome,
    policy: Policy,
    versions: Vec<(i64, String)>,
    text_html: String,
    actions: String,
    compare: Option<i64>,
    diff: Vec<DiffLine>,
}

pub async fn policy(
    State(state): State<AppState>,
    v: Viewer,
    Path(id): Path<String>,
    Query(q): Query<VersionQuery>,
) -> Page {
    let versions = registry::versions(&state.desk, &v.actor, &id).await?;
    let chosen = q
        .version
        .and_then(|n| versions.iter().find(|r| r.policy.version == n))
        .or(versions.last())
        .ok_or(Error::NotFound("policy"))?
        .policy
        .clone();
    let compare = q
        .compare
        .or_else(|| (chosen.version > 1).then_some(chosen.version - 1));
    let diff = compare
        .and_then(|n| versions.iter().find(|r| r.policy.version == n))
        .map(|old| markdown::diff(&old.policy.text, &chosen.text))
        .unwrap_or_default();
    html(PolicyPage {
        chrome: chrome(&state, &v, &chosen.title, "/policies", &Done::default()).await?,
        versions: versions
            .iter()
            .map(|r| (r.policy.version, r.policy.effective.to_string()))
            .collect(),
        text_html: markdown::to_html(&chosen.text),
        actions: chosen
            .allowed_actions
            .iter()
            .map(|k| action_label(*k))
            .collect::<Vec<_>>()
            .join(", "),
        compare: compare.filter(|_| !diff.is_empty()),
        diff,
        policy: chosen,
    })
}

// ---------------------------------------------------------------- consultations

#[derive(Template)]
#[template(path = "consultations.html")]
struct ConsultationsPage {
    chrome: Chrome,
    open: Vec<ConsultationRow>,
    answered: Vec<ConsultationRow>,
}

pub async fn consultations(
    State(state): State<AppState>,
    v: Viewer,
    Query(done): Query<Done>,
) -> Page {
    v.actor.require(Permission::AnswerConsultations)?;
    let all = cases::consultations_for_teams(&state.desk.db, &v.actor.teams, true, 200).await?;
    let (answered, open): (Vec<_>, Vec<_>) = all.into_iter().partition(|c| c.answer.is_some());
    html(ConsultationsPage {
        chrome: chrome(&state, &v, "Consultations", "/consultations", &done).await?,
        open,
        answered,
    })
}

#[derive(Deserialize)]
pub struct AnswerForm {
    csrf: Option<String>,
    answer: String,
}

pub async fn answer_consultation(
    State(state): State<AppState>,
    v: Viewer,
    Path(id): Path<i64>,
    Form(f): Form<AnswerForm>,
) -> Page {
    v.check_csrf(f.csrf.as_deref())?;
    review::answer_consultation(&state.desk, &v.actor, id, &f.answer).await?;
    back_to("/consultations", "answered")
}

// ---------------------------------------------------------------- admin and settings

#[derive(Template)]
#[template(path = "admin.html")]
struct AdminPage {
    chrome: Chrome,
    users: Vec<UserRow>,
    roles: Vec<&'static str>,
    queues: Vec<(String, String)>,
    routing: Vec<String>,
    templates: Vec<String>,
    token: Option<(String, String)>,
    error: Option<String>,
}

async fn admin_page(
    state: &AppState,
    v: &Viewer,
    done: &Done,
    token: Option<(String, String)>,
    error: Option<String>,
) -> Result<AdminPage, ConsoleError> {
    identity::require_admin(&v.actor)?;
    let config = &state.desk.config;
    Ok(AdminPage {
        chrome: chrome(state, v, "Admin", "/admin", done).await?,
        users: users::list_users(&state.desk.db).await?,
        roles: Role::ALL.iter().map(|r| r.as_str()).collect(),
        queues: config
            .queues
            .iter()
            .map(|q| (q.name.clone(), q.title.clone()))
            .collect(),
        routing: config
            .routing
            .iter()
            .map(|r| serde_json::to_string(r).unwrap_or_default())
            .collect(),
        templates: config
            .templates
            .templates
            .iter()
            .map(|t| format!("{:?} → {} ({})", t.purpose, t.audience.as_str(), t.language))
            .collect(),
        token,
        error,
    })
}

pub async fn admin(State(state): State<AppState>, v: Viewer, Query(done): Query<Done>) -> Page {
    html(admin_page(&state, &v, &done, None, None).await?)
}

#[derive(Deserialize)]
pub struct UserForm {
    csrf: Option<String>,
    username: String,
    role: String,
    #[serde(default)]
    teams: String,
    #[serde(default)]
    password: String,
}

pub async fn admin_add_user(
    State(state): State<AppState>,
    v: Viewer,
    Form(f): Form<UserForm>,
) -> Page {
    v.check_csrf(f.csrf.as_deref())?;
    identity::require_admin(&v.actor)?;
    let Some(role) = Role::parse(&f.role) else {
        let page = admin_page(
            &state,
            &v,
            &Done::default(),
            None,
            Some("role: choose a role".into()),
        )
        .await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(page.render()?)).into_response());
    };
    let input = UserInput {
        username: f.username.trim().to_string(),
        display_name: None,
        role,
        teams: f
            .teams
            .split(',')
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .collect(),
        password: Some(f.password).filter(|p| !p.is_empty()),
    };
    match identity::create_user(&state.desk, Who::user(&v.actor), input).await {
        Ok(_) => back_to("/admin", "user"),
        Err(Error::Invalid(errs)) => {
            let text = errs
                .iter()
                .map(|e| format!("{}: {}", e.field, e.message))
                .collect::<Vec<_>>()
                .join("; ");
            let page = admin_page(&state, &v, &Done::default(), None, Some(text)).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(page.render()?)).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct TokenForm {
    csrf: Option<String>,
    name: String,
}

pub async fn admin_create_token(
    State(state): State<AppState>,
    v: Viewer,
    Path(id): Path<i64>,
    Form(f): Form<TokenForm>,
) -> Page {
    v.check_csrf(f.csrf.as_deref())?;
    identity::require_admin(&v.actor)?;
    let user = users::list_users(&state.desk.db)
        .await?
        .into_iter()
        .find(|u| u.id == id)
        .ok_or(Error::NotFound("user"))?;
    let name = if f.name.trim().is_empty() {
        "console"
    } else {
        f.name.trim()
    };
    let token = identity::create_token(&state.desk, Who::user(&v.actor), id, name).await?;
    // Shown once, on this response only; never stored in a URL.
    html(
        admin_page(
            &state,
            &v,
            &Done::default(),
            Some((user.username, token)),
            None,
        )
        .await?,
    )
}

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    chrome: Chrome,
}

pub async fn settings(State(state): State<AppState>, v: Viewer, Query(done): Query<Done>) -> Page {
    html(SettingsPage {
        chrome: chrome(&state, &v, "Settings", "/settings", &done).await?,
    })
}

#[derive(Deserialize)]
pub struct SettingsForm {
    csrf: Option<String>,
    keep_greyscale: Option<String>,
}

pub async fn save_settings(
    State(state): State<AppState>,
    v: Viewer,
    Form(f): Form<SettingsForm>,
) -> Page {
    v.check_csrf(f.csrf.as_deref())?;
    let mut tx = state.desk.db.begin().await.map_err(ConsoleError::from)?;
    store_console::set_keep_greyscale(&mut tx, v.actor.user_id, f.keep_greyscale.is_some()).await?;
    tx.commit()
        .await
        .map_err(|e| ConsoleError::from(Error::from(e)))?;
    back_to("/settings", "saved")
}

/// Counts one revealed media item against the shift; says when to suggest a break.
pub async fn exposure(State(state): State<AppState>, v: Viewer) -> Result<Response, ConsoleError> {
    v.check_csrf(None)?;
    let mut tx = state.desk.db.begin().await?;
    let count = store_console::add_exposure(&mut tx, &v.session_hash()).await?;
    tx.commit()
        .await
        .map_err(|e| ConsoleError::from(Error::from(e)))?;
    let every = state.desk.config.wellness.break_after_reveals;
    metrics::counter!("warden_media_revealed_total").increment(1);
    Ok(axum::Json(serde_json::json!({
        "count": count,
        "remind": every > 0 && count >= every && count % every == 0,
    }))
    .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippets_are_escaped_before_their_matches_are_marked() {
        assert_eq!(
            mark_snippet("a **wallet** <b>x</b> & **scam**"),
            "a <mark>wallet</mark> &lt;b&gt;x&lt;/b&gt; &amp; <mark>scam</mark>"
        );
        assert_eq!(mark_snippet("**<script>**"), "<mark>&lt;script&gt;</mark>");
    }

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        assert_eq!(safe_next(Some("/cases/7?x=1")), "/cases/7?x=1");
        for bad in ["//evil.example", "https://evil.example", "/\\evil", "evil"] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad}");
        }
        assert_eq!(safe_next(None), "/");
    }
}
