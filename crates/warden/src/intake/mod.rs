//! Intake: reports from every channel become cases. A report on a subject with an open case joins
//! it; on a subject whose case was closed, it reopens it. Every report is re-triaged into its case.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::AnyConnection;
use std::collections::{BTreeMap, BTreeSet};
use utoipa::ToSchema;

use crate::access::{Actor, Permission};
use crate::clock::to_millis;
use crate::desk::Desk;
use crate::domain::case::{Case, CaseStatus};
use crate::domain::events::CaseEvent;
use crate::domain::priority::{Priority, Severity, TriageInput};
use crate::domain::reply::{Purpose, audience_for};
use crate::domain::report::NewReport;
use crate::domain::search::{self, DocKind};
use crate::domain::subject::SubjectKind;
use crate::domain::validate::Checker;
use crate::error::{Error, Result};
use crate::replies::{self, Outgoing, Redress};
use crate::store::Arg;
use crate::store::banks::{MEDIA_CHECKS, media_check_row};
use crate::store::cases::{self, Who};
use crate::store::enforcement::{MESSAGES, OUTBOX};
use crate::store::rows::{self, Reserved, Rows};
use crate::store::search::{SEARCH_DOCS, document_row};
use crate::triage::retriage;

pub(crate) mod group_commit;

pub use group_commit::GroupCommit;

pub const MAX_BATCH: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum IntakeOutcome {
    /// A new case was opened for the subject.
    Opened,
    /// The subject already had an open case; the report joined it.
    Joined,
    /// The subject's case had been closed; the report reopened it.
    Reopened,
}

/// What the sender gets back; a replay of the same idempotency key gets the same receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct IntakeReceipt {
    pub report_id: i64,
    pub case_id: i64,
    pub outcome: IntakeOutcome,
    pub case_status: CaseStatus,
    pub priority: Priority,
    pub queue: String,
    pub received_at: DateTime<Utc>,
    /// True when this answer is a replay of an earlier request with the same key.
    #[serde(default)]
    pub replayed: bool,
}

fn check(desk: &Desk, report: &NewReport, c: &mut Checker) {
    report.check(c, |area| desk.config.policy_area(area).is_some());
}

pub async fn submit(desk: &Desk, actor: &Actor, report: NewReport) -> Result<IntakeReceipt> {
    let mut receipts = submit_batch(desk, actor, vec![report], false).await?;
    receipts
        .pop()
        .ok_or_else(|| Error::Internal("intake returned no receipt".into()))
}

/// Accepts reports all together or not at all: one invalid report rejects the batch, naming it.
pub async fn submit_batch(
    desk: &Desk,
    actor: &Actor,
    reports: Vec<NewReport>,
    batched: bool,
) -> Result<Vec<IntakeReceipt>> {
    actor.require(Permission::SubmitReports)?;
    if reports.is_empty() {
        return Err(Error::field("reports", "must contain at least one report"));
    }
    if reports.len() > MAX_BATCH {
        return Err(Error::field(
            "reports",
            format!(
                "must contain at most {MAX_BATCH} reports, got {}",
                reports.len()
            ),
        ));
    }
    let mut c = Checker::new();
    for (i, r) in reports.iter().enumerate() {
        let mut one = if batched {
            Checker::with_prefix(format!("reports[{i}]"))
        } else {
            Checker::new()
        };
        check(desk, r, &mut one);
        c.absorb(one);
    }
    c.finish()?;
    let started = std::time::Instant::now();
    let receipts = desk
        .intake
        .run(
            desk,
            group_commit::Request {
                actor: actor.clone(),
                reports,
            },
        )
        .await?;
    metrics::counter!("warden_reports_received_total")
        .increment(receipts.iter().filter(|r| !r.replayed).count() as u64);
    metrics::histogram!("warden_intake_seconds").record(started.elapsed().as_secs_f64());
    Ok(receipts)
}

fn request_hash(report: &NewReport) -> Result<String> {
    Ok(hex::encode(Sha256::digest(serde_json::to_vec(report)?)))
}

/// One intake request: who sent it and its reports.
#[derive(Clone, Copy)]
pub(crate) struct Sent<'a> {
    pub actor: &'a Actor,
    pub reports: &'a [NewReport],
}

/// What becomes of a report before anything is written.
#[derive(Debug, Clone, PartialEq)]
enum Fate {
    /// Its key was answered before this group: the same answer again.
    Replay(IntakeReceipt),
    /// Its key belongs to a report taken in earlier in this group (the nth new one).
    ReplayInGroup(usize),
    /// A report to take in, the nth new one of the group.
    New(usize),
}

fn key_reused() -> Error {
    Error::Invalid(vec![crate::FieldError::new(
        "idempotency_key",
        "was already used for a different report; use a new key for a new report",
    )])
}

/// A group's reports sorted out: each request's fates (or its refusal), and the new reports by
/// request and place in it.
struct Sorted {
    fates: Vec<Result<Vec<Fate>>>,
    new: Vec<(usize, usize)>,
}

/// Sorts each report of each request into replays and new reports, by idempotency key: against
/// the keys answered before (`known`: sender and key to request hash and answer) and those taken
/// earlier in the group. A request that reuses a key for a different report is refused whole, and
/// its reports count for nothing.
fn sort_out(
    group: &[Sent<'_>],
    hashes: &[Vec<String>],
    known: &BTreeMap<(i64, String), (String, String)>,
) -> Result<Sorted> {
    let mut taken: BTreeMap<(i64, &str), (&str, usize)> = BTreeMap::new();
    let mut new = Vec::new();
    let mut fates = Vec::with_capacity(group.len());
    for (r, sent) in group.iter().enumerate() {
        let mut mine: BTreeMap<(i64, &str), (&str, usize)> = BTreeMap::new();
        // The reports of this request that are new, by their place in it.
        let mut firsts = Vec::new();
        let mut fate = Vec::with_capacity(sent.reports.len());
        let mut refused = false;
        for (i, report) in sent.reports.iter().enumerate() {
            let hash = hashes[r][i].as_str();
            let key = (sent.actor.user_id, report.idempotency_key.as_str());
            if let Some((first_hash, response)) = known.get(&(key.0, key.1.to_string())) {
                if first_hash != hash {
                    refused = true;
                    break;
                }
                let mut receipt: IntakeReceipt = serde_json::from_str(response)?;
                receipt.replayed = true;
                fate.push(Fate::Replay(receipt));
            } else if let Some((first_hash, n)) = taken.get(&key).or_else(|| mine.get(&key)) {
                if *first_hash != hash {
                    refused = true;
                    break;
                }
                fate.push(Fate::ReplayInGroup(*n));
            } else {
                let n = new.len() + firsts.len();
                mine.insert(key, (hash, n));
                firsts.push(i);
                fate.push(Fate::New(n));
            }
        }
        if refused {
            fates.push(Err(key_reused()));
            continue;
        }
        new.extend(firsts.into_iter().map(|i| (r, i)));
        taken.extend(mine);
        fates.push(Ok(fate));
    }
    Ok(Sorted { fates, new })
}

/// The rows a group's reports bring, written table by table once all are taken in.
#[derive(Default)]
struct Writes {
    reports: Vec<Vec<Arg>>,
    events: Vec<Vec<Arg>>,
    messages: Vec<Vec<Arg>>,
    deliveries: Vec<Vec<Arg>>,
    documents: Vec<Vec<Arg>>,
    /// Media to hash and match against the banks of known media.
    media_checks: Vec<Vec<Arg>>,
    /// The purposes of the messages, counted once they are written.
    purposes: Vec<String>,
}

/// What the group reads before it writes: the subjects' cases and the reporters they have heard.
struct Group {
    cases: BTreeMap<(SubjectKind, String), Case>,
    touched: BTreeSet<(SubjectKind, String)>,
    seen: BTreeSet<(i64, String)>,
    ids: Reserved,
}

/// Takes in a group of requests in the caller's transaction, a statement per table rather than
/// per report. Each request is answered all or nothing: one reusing a key for a different report
/// is refused and changes nothing, and the rest are taken in.
pub(crate) async fn take_in_group(
    desk: &Desk,
    conn: &mut AnyConnection,
    group: &[Sent<'_>],
    now: DateTime<Utc>,
) -> Result<Vec<Result<Vec<IntakeReceipt>>>> {
    let hashes = group
        .iter()
        .map(|s| {
            s.reports
                .iter()
                .map(request_hash)
                .collect::<Result<Vec<_>>>()
        })
        .collect::<Result<Vec<_>>>()?;
    let keys: BTreeSet<(i64, &str)> = group
        .iter()
        .flat_map(|s| {
            s.reports
                .iter()
                .map(|r| (s.actor.user_id, r.idempotency_key.as_str()))
        })
        .collect();
    let known = cases::reports_by_keys(conn, &keys).await?;
    let Sorted { fates, new } = sort_out(group, &hashes, &known)?;
    let report = |&(r, i): &(usize, usize)| &group[r].reports[i];

    let subjects: BTreeSet<(SubjectKind, &str)> = new
        .iter()
        .map(|n| {
            let s = &report(n).subject;
            (s.kind, s.external_id.as_str())
        })
        .collect();
    let cases = cases::lock_cases_for_subjects(conn, &subjects).await?;
    let heard: BTreeSet<(i64, &str)> = new
        .iter()
        .filter_map(|n| {
            let r = report(n);
            let key = (r.subject.kind, r.subject.external_id.clone());
            cases.get(&key).map(|c| (c.id, r.reporter.id.as_str()))
        })
        .collect();
    let seen = cases::reporters_seen(conn, &heard).await?;
    let new_cases = subjects
        .iter()
        .filter(|(k, id)| !cases.contains_key(&(*k, id.to_string())))
        .count();
    let ids = rows::reserve(
        &desk.db,
        conn,
        &[
            (&cases::CASES, new_cases),
            (&cases::REPORTS, new.len()),
            (&MESSAGES, new.len()),
        ],
    )
    .await?;

    let mut state = Group {
        cases,
        touched: BTreeSet::new(),
        seen,
        ids,
    };
    let mut writes = Writes::default();
    let mut receipts = Vec::with_capacity(new.len());
    for n in &new {
        let (r, i) = *n;
        let sent = &group[r];
        let receipt = take_in(
            desk,
            &mut state,
            sent.actor,
            &sent.reports[i],
            &hashes[r][i],
            now,
            &mut writes,
        )?;
        receipts.push(receipt);
    }

    let case_rows = state
        .touched
        .iter()
        .filter_map(|key| state.cases.get(key))
        .map(|case| cases::case_row(case, now))
        .collect::<Result<Vec<_>>>()?;
    let media_checked = !writes.media_checks.is_empty();
    rows::write_all(
        conn,
        vec![
            cases::cases_saved(case_rows),
            Rows::new(&cases::REPORTS, writes.reports),
            Rows::new(&MESSAGES, writes.messages),
            Rows::new(&OUTBOX, writes.deliveries),
            Rows::new(&cases::EVENTS, writes.events),
            Rows::new(&SEARCH_DOCS, writes.documents),
            Rows::new(&MEDIA_CHECKS, writes.media_checks),
        ],
    )
    .await?;
    if media_checked {
        // The checker finds them once this group commits, or at its next poll.
        desk.banks.queued.notify_one();
    }
    for purpose in &writes.purposes {
        replies::count_sent(purpose);
    }

    Ok(fates
        .into_iter()
        .map(|fate| {
            fate.map(|fate| {
                fate.into_iter()
                    .map(|f| match f {
                        Fate::Replay(receipt) => receipt,
                        Fate::ReplayInGroup(n) => IntakeReceipt {
                            replayed: true,
                            ..receipts[n].clone()
                        },
                        Fate::New(n) => receipts[n].clone(),
                    })
                    .collect()
            })
        })
        .collect())
}

/// Takes one new report into its subject's case (opening or reopening it), re-triages the case
/// and acknowledges the report to its sender, adding the rows to `w`; nothing is written here.
#[allow(clippy::too_many_arguments)]
fn take_in(
    desk: &Desk,
    group: &mut Group,
    actor: &Actor,
    report: &NewReport,
    hash: &str,
    now: DateTime<Utc>,
    w: &mut Writes,
) -> Result<IntakeReceipt> {
    let subject = &report.subject;
    let key = (subject.kind, subject.external_id.clone());
    let outcome = match group.cases.get(&key) {
        Some(c) if c.status.is_open() => IntakeOutcome::Joined,
        Some(_) => IntakeOutcome::Reopened,
        None => IntakeOutcome::Opened,
    };
    if outcome == IntakeOutcome::Opened {
        let id = group.ids.take(&cases::CASES)?;
        group.cases.insert(key.clone(), Case::empty(id, now));
    }
    group.touched.insert(key.clone());
    let case = group
        .cases
        .get_mut(&key)
        .ok_or_else(|| Error::Internal("a case taken in went missing".into()))?;
    let mut events = Vec::new();
    match outcome {
        IntakeOutcome::Reopened => events.extend(case.reopen()?),
        IntakeOutcome::Opened => events.push(CaseEvent::Opened {
            subject_kind: subject.kind,
            external_id: subject.external_id.clone(),
            snapshot: subject.snapshot.clone(),
            region: report.region().map(str::to_string),
            language: subject.snapshot.language.clone(),
        }),
        IntakeOutcome::Joined => {}
    }
    let new_reporter = group.seen.insert((case.id, report.reporter.id.clone()));
    let report_id = group.ids.take(&cases::REPORTS)?;
    // Media new to the case is checked against the banks once; a subject reported a thousand
    // times is fetched once.
    let known = &case.snapshot;
    for url in &subject.snapshot.media_urls {
        if desk.config.media.fetches(url) && !known.media_urls.contains(url) {
            w.media_checks.push(media_check_row(
                case.id,
                report_id,
                Some(url.clone()),
                None,
                now,
            ));
        }
    }
    for hash in &subject.snapshot.pdq_hashes {
        if !known.pdq_hashes.contains(hash) {
            let hash = hash.to_ascii_lowercase();
            w.media_checks
                .push(media_check_row(case.id, report_id, None, Some(hash), now));
        }
    }
    // The index takes the report's words, and the subject's when they are new to the case.
    if let Some(text) = search::new_subject_text(
        case.snapshot.text.as_deref(),
        subject.snapshot.text.as_deref(),
    ) {
        w.documents
            .extend(document_row(case.id, DocKind::Subject, text));
    }
    if let Some(text) = &report.text {
        w.documents
            .extend(document_row(case.id, DocKind::Report, text));
    }
    let severity = desk
        .config
        .policy_area(&report.reason)
        .map_or(Severity::Low, |a| a.severity);
    events.push(CaseEvent::ReportReceived {
        report_id,
        source: report.source,
        reporter_id: report.reporter.id.clone(),
        policy_area: report.reason.clone(),
        triage: TriageInput {
            severity,
            top_source: report.source,
            distinct_reporters: u64::from(new_reporter),
            reach: subject.snapshot.reach.unwrap_or(0),
            risk_flags: report.risk_flags.iter().copied().collect(),
            requested_deadline: report.requested_deadline,
            known_media: BTreeSet::new(),
        },
        snapshot: subject.snapshot.clone(),
    });
    cases::apply_events(case, events, Who::user(actor), None, now, &mut w.events)?;
    let triaged = retriage(&desk.config, case, now);
    cases::apply_events(
        case,
        vec![triaged],
        Who::SYSTEM,
        Some("new report"),
        now,
        &mut w.events,
    )?;
    // Tell the reporter the report arrived (DSA Art. 16(4)), in the same transaction.
    if let Some(audience) = audience_for(report.source) {
        let mut values = replies::case_values(case);
        values.insert("report_ref", format!("R-{report_id}"));
        let language = report
            .reporter
            .language
            .as_deref()
            .or(subject.snapshot.language.as_deref());
        let out = Outgoing {
            purpose: Purpose::Acknowledgement,
            audience,
            recipient: &report.reporter.id,
            language,
            decision_id: None,
            appeal_id: None,
            report_id: Some(report_id),
            redress: Redress::None,
            actions: &[],
        };
        let message_id = group.ids.take(&MESSAGES)?;
        if let Some(message) = replies::compose(desk, case, &out, &values, message_id, now)? {
            cases::apply_events(
                case,
                vec![message.event],
                Who::SYSTEM,
                None,
                now,
                &mut w.events,
            )?;
            w.messages.push(message.message);
            w.deliveries.push(message.delivery);
            w.purposes.push(message.purpose);
        }
    }
    let receipt = IntakeReceipt {
        report_id,
        case_id: case.id,
        outcome,
        case_status: case.status,
        priority: case.priority,
        queue: case.queue.clone(),
        received_at: now,
        replayed: false,
    };
    w.reports.push(vec![
        Arg::Int(report_id),
        Arg::Int(case.id),
        Arg::Int(actor.user_id),
        Arg::Text(report.idempotency_key.clone()),
        Arg::Text(hash.to_string()),
        Arg::Text(report.source.as_str().to_string()),
        Arg::Text(report.reporter.id.clone()),
        Arg::Text(report.reason.clone()),
        Arg::MaybeText(report.jurisdiction.clone()),
        Arg::Int(to_millis(now)),
        Arg::Text(serde_json::to_string(report)?),
        Arg::Text(serde_json::to_string(&receipt)?),
    ]);
    Ok(receipt)
}
