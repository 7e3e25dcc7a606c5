//! Replies: messages to reporters, affected users, partners and regulators. Each is rendered from
//! a template, stored, recorded on the case as an event, and delivered through the outbox in the
//! same transaction as what caused it.

use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

use crate::desk::Desk;
use crate::domain::case::Case;
use crate::domain::events::CaseEvent;
use crate::domain::reply::{Audience, Purpose, redress};
use crate::error::Result;
use crate::store::Arg;
use crate::store::enforcement::{self as store, NewMessage};
use crate::store::rows;
use sqlx::AnyConnection;

/// One message to send.
pub struct Outgoing<'a> {
    pub purpose: Purpose,
    pub audience: Audience,
    /// The platform's id of the person or organisation.
    pub recipient: &'a str,
    pub language: Option<&'a str>,
    pub decision_id: Option<i64>,
    pub appeal_id: Option<i64>,
    pub report_id: Option<i64>,
    /// The redress options the message carries.
    pub redress: Redress,
    /// The actions the message reports, described in the message's language.
    pub actions: &'a [crate::domain::enforcement::ActionSpec],
}

/// Which redress options a message names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redress {
    None,
    /// An internal complaint (appeal) until the date, out-of-court settlement, the courts.
    Appeal(chrono::NaiveDate),
    /// After an appeal: out-of-court settlement and the courts.
    AfterAppeal,
}

/// The placeholders every message about a case can use.
pub fn case_values(case: &Case) -> BTreeMap<&'static str, String> {
    BTreeMap::from([
        ("case_ref", format!("C-{}", case.id)),
        ("subject_kind", case.subject_kind.as_str().to_string()),
        ("subject_ref", case.external_id.clone()),
        (
            "received_date",
            case.opened_at.format("%Y-%m-%d").to_string(),
        ),
    ])
}

/// A message rendered and ready to write: its row, its delivery, and the event that records it
/// on the case.
pub struct Composed {
    pub purpose: String,
    pub message: Vec<Arg>,
    pub delivery: Vec<Arg>,
    pub event: CaseEvent,
}

/// Counts a message of this purpose as sent, once it is written.
pub fn count_sent(purpose: &str) {
    metrics::counter!("warden_messages_total", "purpose" => purpose.to_string()).increment(1);
}

/// Renders a message under the id reserved for it, without writing anything; `None` when the
/// desk has no template for it.
pub fn compose(
    desk: &Desk,
    case: &Case,
    out: &Outgoing<'_>,
    values: &BTreeMap<&'static str, String>,
    message_id: i64,
    now: DateTime<Utc>,
) -> Result<Option<Composed>> {
    let templates = &desk.config.templates;
    let Some(template) = templates.find(out.purpose, out.audience, out.language) else {
        return Ok(None);
    };
    let mut values = values.clone();
    if !out.actions.is_empty() {
        let described: Vec<String> = out
            .actions
            .iter()
            .map(|a| a.describe_in(&template.language))
            .collect();
        values.insert("actions", described.join("; "));
    }
    let body = &desk.config.appeals.out_of_court_body;
    match out.redress {
        Redress::Appeal(until) => {
            values.insert("redress", redress(&template.language, Some(until), body));
            values.insert("appeal_deadline", until.format("%Y-%m-%d").to_string());
        }
        Redress::AfterAppeal => {
            values.insert("redress", redress(&template.language, None, body));
        }
        Redress::None => {}
    }
    let Some(m) = templates.render(out.purpose, out.audience, Some(&template.language), &values)
    else {
        return Ok(None);
    };
    let purpose = serde_json::to_value(out.purpose)?
        .as_str()
        .unwrap_or_default()
        .to_string();
    let message = store::message_row(
        message_id,
        &NewMessage {
            case_id: case.id,
            decision_id: out.decision_id,
            appeal_id: out.appeal_id,
            report_id: out.report_id,
            purpose: &purpose,
            audience: out.audience.as_str(),
            recipient: out.recipient,
            language: &m.language,
            subject: &m.subject,
            body: &m.body,
            at: now,
        },
    );
    let payload = serde_json::json!({
        "topic": "message",
        "message_id": message_id,
        "case_id": case.id,
        "purpose": purpose,
        "audience": out.audience.as_str(),
        "recipient": out.recipient,
        "language": m.language,
        "subject": m.subject,
        "body": m.body,
        "at": now,
    });
    let delivery = store::delivery_row(
        "message",
        Some(case.id),
        &format!("message-{message_id}"),
        &payload,
        now,
    );
    Ok(Some(Composed {
        purpose,
        message,
        delivery,
        event: CaseEvent::MessageQueued {
            message_id,
            purpose: out.purpose,
            audience: out.audience,
            language: m.language,
        },
    }))
}

/// Renders, stores and queues a message; returns the event to record on the case, or `None` when
/// the desk has no template for it.
pub async fn queue(
    conn: &mut AnyConnection,
    desk: &Desk,
    case: &Case,
    out: Outgoing<'_>,
    values: &BTreeMap<&'static str, String>,
    now: DateTime<Utc>,
) -> Result<Option<CaseEvent>> {
    let mut ids = rows::reserve(&desk.db, conn, &[(&store::MESSAGES, 1)]).await?;
    let Some(composed) = compose(desk, case, &out, values, ids.take(&store::MESSAGES)?, now)?
    else {
        return Ok(None);
    };
    rows::insert(conn, &store::MESSAGES, vec![composed.message]).await?;
    rows::insert(conn, &store::OUTBOX, vec![composed.delivery]).await?;
    count_sent(&composed.purpose);
    Ok(Some(composed.event))
}

/// Queues a message and records it on the case in one step.
#[allow(clippy::too_many_arguments)]
pub async fn tell(
    conn: &mut AnyConnection,
    desk: &Desk,
    case: &mut Case,
    out: Outgoing<'_>,
    values: &BTreeMap<&'static str, String>,
    who: crate::store::cases::Who<'_>,
    now: DateTime<Utc>,
) -> Result<()> {
    if let Some(event) = queue(conn, desk, case, out, values, now).await? {
        crate::store::cases::append(conn, case, vec![event], who, None, now).await?;
    }
    Ok(())
}
