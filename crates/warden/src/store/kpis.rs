//! The counts behind the key figures (`analytics::kpis`): one aggregate query per figure over the
//! cases of the range, grouped by the chosen dimension, on either engine.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::cases::Params;
use super::{Db, query_with_args};
use crate::analytics::kpis::{Counts, DURATION_STEPS, Dimension, KpiQuery};
use crate::clock::to_millis;
use crate::error::Result;

/// The SQL naming a case's group (`c` is the case), never NULL.
fn group_of(by: Option<Dimension>) -> &'static str {
    match by {
        None => "''",
        Some(Dimension::Queue) => "c.queue",
        Some(Dimension::Policy) => "c.policy_area",
        Some(Dimension::Source) => {
            "COALESCE((SELECT r0.source FROM reports r0 WHERE r0.case_id = c.id ORDER BY r0.id LIMIT 1), '')"
        }
        Some(Dimension::Region) => "COALESCE(c.region, '')",
        Some(Dimension::Language) => "COALESCE(c.language, '')",
        Some(Dimension::Priority) => "'P' || CAST(c.priority AS TEXT)",
        Some(Dimension::Reviewer) => {
            "COALESCE((SELECT u0.username FROM users u0 WHERE u0.id = c.assignee_id), \
             (SELECT u1.username FROM decisions d1 JOIN users u1 ON u1.id = d1.decided_by \
              WHERE d1.case_id = c.id ORDER BY d1.id DESC LIMIT 1), '')"
        }
    }
}

/// The SQL rounding the duration `d` (ms) down to its step, as `kpis::duration_step` does.
fn step_of(d: &str) -> String {
    let mut sql = format!("CASE WHEN {d} < 0 THEN 0");
    for (under, step) in DURATION_STEPS {
        if under == i64::MAX {
            sql.push_str(&format!(" ELSE ({d}) / {step} * {step} END"));
        } else {
            sql.push_str(&format!(" WHEN {d} < {under} THEN ({d}) / {step} * {step}"));
        }
    }
    sql
}

fn count(r: &AnyRow, i: usize) -> Result<u64> {
    Ok(r.try_get::<Option<i64>, _>(i)?.unwrap_or(0).max(0) as u64)
}

/// Rows of one aggregate over cases (`c`) visible to `teams`: `shape` is the query with `{g}` for
/// the group, `{from}`/`{to}` for the range, `{bucket}` for the bucket length, `{as_of}` for the
/// instant of the backlog, `{vis}` for the visibility rule.
async fn aggregate(db: &Db, teams: &[String], q: &KpiQuery, shape: &str) -> Result<Vec<AnyRow>> {
    let mut p = Params::default();
    let from = p.int(to_millis(q.from));
    let to = p.int(to_millis(q.to));
    let bucket = p.int(q.bucket.length().num_milliseconds());
    let as_of = p.int(to_millis(q.as_of));
    let vis = p.visible_to(teams);
    let sql = shape
        .replace("{g}", group_of(q.by))
        .replace("{from}", &from)
        .replace("{to}", &to)
        .replace("{bucket}", &bucket)
        .replace("{as_of}", &as_of)
        .replace("{vis}", &vis);
    Ok(query_with_args(sql, &p.0).fetch_all(db.reader()).await?)
}

/// Everything a dashboard counts, for the cases these teams may see.
pub async fn counts(db: &Db, teams: &[String], q: &KpiQuery) -> Result<Counts> {
    let run = |shape: String| async move { aggregate(db, teams, q, &shape).await };
    let bucket_of = |rows: &AnyRow| -> Result<usize> {
        Ok(usize::try_from(rows.try_get::<i64, _>(0)?.max(0)).unwrap_or(usize::MAX))
    };
    let mut c = Counts::default();

    for r in run(
        "SELECT (c.opened_at - {from}) / {bucket}, {g}, COUNT(*) FROM cases c \
         WHERE c.opened_at >= {from} AND c.opened_at < {to} AND {vis} GROUP BY 1, 2"
            .into(),
    )
    .await?
    {
        c.intake
            .push((bucket_of(&r)?, r.try_get(1)?, count(&r, 2)?));
    }

    // Closures and how long each case took, in one pass over the cases closed in the range.
    for r in run(format!(
        "SELECT (c.closed_at - {{from}}) / {{bucket}}, {{g}}, {}, COUNT(*), \
         CAST(SUM(CASE WHEN c.resolution_breached = 1 OR c.closed_at > c.resolution_due THEN 1 ELSE 0 END) AS BIGINT) \
         FROM cases c WHERE c.closed_at >= {{from}} AND c.closed_at < {{to}} AND {{vis}} GROUP BY 1, 2, 3",
        step_of("c.closed_at - c.opened_at")
    ))
    .await?
    {
        let (group, n): (String, u64) = (r.try_get(1)?, count(&r, 3)?);
        c.closures
            .push((bucket_of(&r)?, group.clone(), n, count(&r, 4)?));
        c.resolutions.push((group, r.try_get(2)?, n));
    }

    for r in run(
        "SELECT {g}, COUNT(*) FROM reports r JOIN cases c ON c.id = r.case_id \
         WHERE r.received_at >= {from} AND r.received_at < {to} AND {vis} GROUP BY 1"
            .into(),
    )
    .await?
    {
        c.reports.push((r.try_get(0)?, count(&r, 1)?));
    }

    // Open at an instant: opened before it and not closed by then, that is still open or closed
    // since. Two queries, so that each reads one range of the index on (closed_at, opened_at).
    let open_at = |t: &str| {
        [
            format!("c.closed_at IS NULL AND c.opened_at < {t} AND {{vis}}"),
            format!("c.closed_at >= {t} AND c.opened_at < {t} AND {{vis}}"),
        ]
    };
    for open in open_at("{from}") {
        for r in run(format!("SELECT '', COUNT(*) FROM cases c WHERE {open}")).await? {
            c.open_at_start.push((r.try_get(0)?, count(&r, 1)?));
        }
    }
    for open in open_at("{as_of}") {
        for r in run(format!(
            "SELECT {{g}}, ({{as_of}} - c.opened_at) / 3600000 * 3600000, COUNT(*) FROM cases c \
             WHERE {open} GROUP BY 1, 2"
        ))
        .await?
        {
            c.open_at_end
                .push((r.try_get(0)?, r.try_get(1)?, count(&r, 2)?));
        }
    }

    for r in run(format!(
        "SELECT {{g}}, {}, COUNT(*), \
         CAST(SUM(CASE WHEN c.first_response_breached = 1 OR c.first_responded_at > c.first_response_due THEN 1 ELSE 0 END) AS BIGINT) \
         FROM cases c WHERE c.first_responded_at >= {{from}} AND c.first_responded_at < {{to}} AND {{vis}} \
         GROUP BY 1, 2",
        step_of("c.first_responded_at - c.opened_at")
    ))
    .await?
    {
        c.first_responses.push((
            r.try_get(0)?,
            r.try_get(1)?,
            count(&r, 2)?,
            count(&r, 3)?,
        ));
    }

    for r in run("SELECT {g}, COUNT(*), \
         CAST(SUM(CASE WHEN a.outcome IN ('overturned', 'modified') THEN 1 ELSE 0 END) AS BIGINT) \
         FROM appeals a JOIN cases c ON c.id = a.case_id \
         WHERE a.decided_at >= {from} AND a.decided_at < {to} AND {vis} GROUP BY 1"
        .into())
    .await?
    {
        c.appeals
            .push((r.try_get(0)?, count(&r, 1)?, count(&r, 2)?));
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sql_steps_are_the_rust_steps() {
        let sql = step_of("d");
        assert_eq!(
            sql,
            "CASE WHEN d < 0 THEN 0 WHEN d < 7200000 THEN (d) / 60000 * 60000 \
             WHEN d < 86400000 THEN (d) / 600000 * 600000 ELSE (d) / 3600000 * 3600000 END"
        );
    }
}
