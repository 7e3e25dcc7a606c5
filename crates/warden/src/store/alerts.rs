//! Alerts and the hourly counts the detectors read.

use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::cases::Params;
use super::{Db, query_with_args};
use crate::alerts::ALERT_TOPIC;
use crate::alerts::detect::{BUCKET_MILLIS, ReportText, ReporterCount, VolumeCount};
use crate::clock::{from_millis, to_millis};
use crate::domain::alert::{Alert, AlertKind, NewAlert};
use crate::error::{Error, Result};

/// Each row of a query, read one at a time and turned into a `T` by `each` (weeks of hourly
/// counts are hundreds of thousands of rows: only the `T`s are held, never the rows).
async fn each_row<T>(
    query: sqlx::query::Query<'_, sqlx::Any, sqlx::any::AnyArguments>,
    db: &Db,
    mut each: impl FnMut(&AnyRow) -> Result<T>,
) -> Result<Vec<T>> {
    let mut rows = query.fetch(db.reader());
    let mut out = Vec::new();
    while let Some(row) = rows.try_next().await? {
        out.push(each(&row)?);
    }
    Ok(out)
}

/// [`each_row`] of a query over the reports received from `since` to `until`, whose `$1` is the
/// hour's length in milliseconds (to count by hour), `$2` the start and `$3` the end.
async fn between_by_hour<T>(
    db: &Db,
    sql: &'static str,
    (since, until): (DateTime<Utc>, DateTime<Utc>),
    each: impl FnMut(&AnyRow) -> Result<T>,
) -> Result<Vec<T>> {
    let query = sqlx::query(sql)
        .bind(BUCKET_MILLIS)
        .bind(to_millis(since))
        .bind(to_millis(until));
    each_row(query, db, each).await
}

/// Reports per hour, policy, region and source from `since` to `until`.
pub async fn volume_counts(
    db: &Db,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Vec<VolumeCount>> {
    let mut names = Names::default();
    between_by_hour(
        db,
        "SELECT r.received_at / $1 AS hour, r.policy_area, c.region, r.source, COUNT(*) \
         FROM reports r JOIN cases c ON c.id = r.case_id WHERE r.received_at >= $2 AND r.received_at < $3 \
         GROUP BY r.received_at / $1, r.policy_area, c.region, r.source",
        (since, until),
        |r| {
            Ok(VolumeCount {
                hour: r.try_get(0)?,
                policy: names.share(r.try_get(1)?),
                region: r.try_get::<Option<String>, _>(2)?.map(|n| names.share(n)),
                source: names.share(r.try_get(3)?),
                reports: r.try_get::<i64, _>(4)?.max(0) as u64,
            })
        },
    )
    .await
}

/// One copy of each name read, shared by every row that names it.
#[derive(Default)]
struct Names(std::collections::HashMap<String, std::sync::Arc<str>>);

impl Names {
    fn share(&mut self, name: String) -> std::sync::Arc<str> {
        self.0
            .entry(name)
            .or_insert_with_key(|n| std::sync::Arc::from(n.as_str()))
            .clone()
    }
}

/// Distinct reporters per hour and case from `since` to `until`, for the cases that `min` or
/// more people reported within one hour from `candidates_since` (only those can be mass
/// reporting now).
pub async fn reporter_counts(
    db: &Db,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    candidates_since: DateTime<Utc>,
    min: u32,
) -> Result<Vec<ReporterCount>> {
    let query = sqlx::query(
        "SELECT r.received_at / $1 AS hour, r.case_id, c.restricted_team, COUNT(DISTINCT r.reporter_id) \
         FROM reports r JOIN cases c ON c.id = r.case_id WHERE r.received_at >= $2 AND r.received_at < $5 \
         AND r.case_id IN (SELECT case_id FROM reports WHERE received_at >= $3 AND received_at < $5 \
           GROUP BY case_id, received_at / $1 HAVING COUNT(DISTINCT reporter_id) >= $4) \
         GROUP BY r.received_at / $1, r.case_id, c.restricted_team",
    )
    .bind(BUCKET_MILLIS)
    .bind(to_millis(since))
    .bind(to_millis(candidates_since))
    .bind(i64::from(min))
    .bind(to_millis(until));
    each_row(query, db, |r| {
        Ok(ReporterCount {
            hour: r.try_get(0)?,
            case_id: r.try_get(1)?,
            restricted_team: r.try_get(2)?,
            reporters: u32::try_from(r.try_get::<i64, _>(3)?).unwrap_or(u32::MAX),
        })
    })
    .await
}

/// The words of each report from `since` to `until` on cases open to everyone: its own text and
/// the reported content's. Restricted cases stay out, so no term from them shows in an alert.
pub async fn report_texts(
    db: &Db,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Vec<ReportText>> {
    between_by_hour(
        db,
        "SELECT r.received_at / $1 AS hour, r.body FROM reports r JOIN cases c ON c.id = r.case_id \
         WHERE r.received_at >= $2 AND r.received_at < $3 AND c.restricted_team IS NULL ORDER BY r.received_at",
        (since, until),
        |r| {
            let body: serde_json::Value = serde_json::from_str(&r.try_get::<String, _>(1)?)?;
            let said = body["text"].as_str().unwrap_or_default();
            let content = body["subject"]["snapshot"]["text"]
                .as_str()
                .unwrap_or_default();
            Ok(ReportText {
                hour: r.try_get(0)?,
                text: format!("{said}\n{content}"),
            })
        },
    )
    .await
}

/// The last alert stored for a signal: when (its hour's start) and its score.
pub async fn last_alert(
    db: &Db,
    kind: AlertKind,
    key: &str,
) -> Result<Option<(DateTime<Utc>, f64)>> {
    let row = sqlx::query(
        "SELECT bucket_start, score FROM alerts WHERE kind = $1 AND alert_key = $2 \
         ORDER BY bucket_start DESC LIMIT 1",
    )
    .bind(kind.as_str())
    .bind(key.to_string())
    .fetch_optional(db.reader())
    .await?;
    row.map(|r| Ok((from_millis(r.try_get(0)?), r.try_get(1)?)))
        .transpose()
}

/// Stores an alert unless the same signal and hour is stored already (another scan, another
/// server); its id if it is new. With `announce` (the message, from the new id), a new alert open
/// to everyone is queued in the same transaction for the alerts webhook, so none is stored
/// without being announced.
pub async fn insert_alert(
    db: &Db,
    a: &NewAlert,
    at: DateTime<Utc>,
    announce: Option<fn(i64, &NewAlert) -> serde_json::Value>,
) -> Result<Option<i64>> {
    let mut tx = db.begin().await?;
    let done = sqlx::query(
        "INSERT INTO alerts (kind, alert_key, bucket_start, count, expected, typical_low, \
         typical_high, score, explanation, case_id, restricted_team, raised_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
         ON CONFLICT (kind, alert_key, bucket_start) DO NOTHING RETURNING id",
    )
    .bind(a.kind.as_str())
    .bind(a.key.clone())
    .bind(a.hour * BUCKET_MILLIS)
    .bind(a.count)
    .bind(a.expected)
    .bind(a.typical_low)
    .bind(a.typical_high)
    .bind(a.score)
    .bind(a.explanation.clone())
    .bind(a.case_id)
    .bind(a.restricted_team.clone())
    .bind(to_millis(at))
    .fetch_optional(&mut *tx)
    .await?;
    let id: Option<i64> = done.map(|r| r.try_get(0)).transpose()?;
    if let Some(id) = id
        && let Some(announcement) = announce
        && a.restricted_team.is_none()
    {
        super::enforcement::enqueue(
            &mut tx,
            ALERT_TOPIC,
            a.case_id,
            &format!("alert-{id}"),
            &announcement(id, a),
            at,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(id)
}

const ALERT_COLUMNS: &str = "a.id, a.kind, a.alert_key, a.bucket_start, a.count, a.expected, \
     a.typical_low, a.typical_high, a.score, a.explanation, a.case_id, a.raised_at, u.username, \
     a.acknowledged_at, a.outcome FROM alerts a LEFT JOIN users u ON u.id = a.acknowledged_by";

fn alert_from_row(r: &sqlx::any::AnyRow) -> Result<Alert> {
    let kind: String = r.try_get(1)?;
    Ok(Alert {
        id: r.try_get(0)?,
        kind: AlertKind::parse(&kind)
            .ok_or_else(|| Error::Internal(format!("stored alert kind {kind}")))?,
        key: r.try_get(2)?,
        bucket_start: from_millis(r.try_get(3)?),
        count: r.try_get(4)?,
        expected: r.try_get(5)?,
        typical_low: r.try_get(6)?,
        typical_high: r.try_get(7)?,
        score: r.try_get(8)?,
        explanation: r.try_get(9)?,
        case_id: r.try_get(10)?,
        raised_at: from_millis(r.try_get(11)?),
        acknowledged_by: r.try_get(12)?,
        acknowledged_at: r.try_get::<Option<i64>, _>(13)?.map(from_millis),
        outcome: r.try_get(14)?,
    })
}

/// Alerts these teams may see, newest hour first; open ones only unless `include_acknowledged`.
pub async fn list_alerts(
    db: &Db,
    teams: &[String],
    include_acknowledged: bool,
    limit: i64,
) -> Result<Vec<Alert>> {
    let mut p = Params::default();
    let visible = p.visible_to(teams);
    let open = if include_acknowledged {
        ""
    } else {
        " AND a.acknowledged_at IS NULL"
    };
    let limit = p.int(limit);
    let sql = format!(
        "SELECT {ALERT_COLUMNS} WHERE {visible}{open} ORDER BY a.bucket_start DESC, a.id DESC LIMIT {limit}"
    );
    let rows = query_with_args(sql, &p.0).fetch_all(db.reader()).await?;
    rows.iter().map(alert_from_row).collect()
}

/// Alerts about the hours from `from` to `to` that these teams may see, acknowledged or not,
/// oldest first.
pub async fn alerts_between(
    db: &Db,
    teams: &[String],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<Alert>> {
    let mut p = Params::default();
    let from = p.int(to_millis(from));
    let to = p.int(to_millis(to));
    let visible = p.visible_to(teams);
    let sql = format!(
        "SELECT {ALERT_COLUMNS} WHERE a.bucket_start >= {from} AND a.bucket_start < {to} AND {visible} \
         ORDER BY a.bucket_start, a.id"
    );
    let rows = query_with_args(sql, &p.0).fetch_all(db.reader()).await?;
    rows.iter().map(alert_from_row).collect()
}

pub async fn get_alert(db: &Db, id: i64, teams: &[String]) -> Result<Option<Alert>> {
    let mut p = Params::default();
    let id = p.int(id);
    let visible = p.visible_to(teams);
    let sql = format!("SELECT {ALERT_COLUMNS} WHERE a.id = {id} AND {visible}");
    let row = query_with_args(sql, &p.0)
        .fetch_optional(db.reader())
        .await?;
    row.as_ref().map(alert_from_row).transpose()
}

/// Marks an alert acknowledged with what came of it; false if someone was quicker.
pub async fn acknowledge(
    db: &Db,
    id: i64,
    by: i64,
    outcome: &str,
    at: DateTime<Utc>,
) -> Result<bool> {
    let mut tx = db.begin().await?;
    let done = sqlx::query(
        "UPDATE alerts SET acknowledged_by = $1, acknowledged_at = $2, outcome = $3 \
         WHERE id = $4 AND acknowledged_at IS NULL",
    )
    .bind(by)
    .bind(to_millis(at))
    .bind(outcome.to_string())
    .bind(id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(done.rows_affected() == 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::config::Config;
    use crate::desk::Desk;
    use crate::store::ScratchDb;

    #[tokio::test]
    async fn the_scan_reads_reports_up_to_the_end_it_is_given_and_none_after() {
        let scratch = ScratchDb::new(2).await;
        let clock = std::sync::Arc::new(ManualClock::new("2026-11-30T10:30:00Z".parse().unwrap()));
        let desk = Desk::new(scratch.db.clone(), Config::default()).with_clock(clock.clone());
        let platform = crate::intake::group_commit::tests::platform(&desk).await;
        // One report in the hour from 10:00, one at 11:00 sharp, when the next hour starts.
        for (n, at) in ["2026-11-30T10:30:00Z", "2026-11-30T11:00:00Z"]
            .iter()
            .enumerate()
        {
            clock.set(at.parse().unwrap());
            let report = serde_json::from_value(serde_json::json!({
                "subject": {"kind": "post", "external_id": format!("p-{n}"),
                            "snapshot": {"text": "Send coins here"}},
                "source": "user",
                "reporter": {"id": format!("u-{n}")},
                "reason": "spam",
                "text": "coins",
                "idempotency_key": format!("k-{n}")
            }))
            .unwrap();
            crate::intake::submit(&desk, &platform, report)
                .await
                .unwrap();
        }
        let since: DateTime<Utc> = "2026-11-30T00:00:00Z".parse().unwrap();
        let eleven: DateTime<Utc> = "2026-11-30T11:00:00Z".parse().unwrap();
        let noon: DateTime<Utc> = "2026-11-30T12:00:00Z".parse().unwrap();
        let hours = |v: Vec<VolumeCount>| v.iter().map(|c| (c.hour, c.reports)).collect::<Vec<_>>();
        let ten = crate::alerts::detect::hour_of(since) + 10;
        assert_eq!(
            hours(volume_counts(&desk.db, since, eleven).await.unwrap()),
            vec![(ten, 1)]
        );
        assert_eq!(
            hours(volume_counts(&desk.db, since, noon).await.unwrap()),
            vec![(ten, 1), (ten + 1, 1)]
        );
        assert_eq!(
            report_texts(&desk.db, since, eleven).await.unwrap().len(),
            1
        );
        assert_eq!(report_texts(&desk.db, since, noon).await.unwrap().len(), 2);
        scratch.remove().await;
    }
}
