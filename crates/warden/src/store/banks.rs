//! Banks of known media, their entries, the media of cases and the matches between them, and the
//! queue of media waiting to be hashed.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::rows::{self, Table};
use super::{Arg, Db};
use crate::clock::{from_millis, to_millis};
use crate::domain::enforcement::ActionKind;
use crate::error::{Error, Result};
use crate::matching::index::{BankRule, EntryState};
use crate::matching::{
    Bank, BankChange, BankEntry, DEFAULT_THRESHOLD, Hit, ListedHash, MatchVerdict, MediaMatch,
    NewBank, Origin, precision,
};

pub const BANK_ENTRIES: Table = Table {
    name: "bank_entries",
    columns: &[
        "bank_id",
        "hash",
        "quality",
        "origin",
        "decision_id",
        "case_id",
        "list_name",
        "note",
        "enabled",
        "added_at",
        "added_by",
        "changed_at",
    ],
};

pub const MEDIA_CHECKS: Table = Table {
    name: "media_checks",
    columns: &[
        "case_id",
        "report_id",
        "media_url",
        "hash",
        "state",
        "next_attempt_at",
        "created_at",
    ],
};

/// A row of [`MEDIA_CHECKS`] for intake to write: a URL to fetch or a hash the platform sent.
pub fn media_check_row(
    case_id: i64,
    report_id: i64,
    media_url: Option<String>,
    hash: Option<String>,
    at: DateTime<Utc>,
) -> Vec<Arg> {
    vec![
        Arg::Int(case_id),
        Arg::Int(report_id),
        Arg::MaybeText(media_url),
        Arg::MaybeText(hash),
        Arg::Text("pending".into()),
        Arg::Int(to_millis(at)),
        Arg::Int(to_millis(at)),
    ]
}

const BANK_COLUMNS: &str = "b.id, b.name, b.policy_id, b.description, b.match_threshold, \
     b.auto_action, b.enabled, b.created_at, \
     (SELECT COUNT(*) FROM bank_entries e WHERE e.bank_id = b.id AND e.removed_at IS NULL), \
     (SELECT COUNT(*) FROM bank_entries e WHERE e.bank_id = b.id AND e.removed_at IS NULL \
        AND e.enabled = 1), \
     (SELECT COUNT(*) FROM media_matches m WHERE m.bank_id = b.id), \
     (SELECT COUNT(*) FROM media_matches m WHERE m.bank_id = b.id AND m.verdict = 'true_positive'), \
     (SELECT COUNT(*) FROM media_matches m WHERE m.bank_id = b.id AND m.verdict = 'false_positive')";

fn bank_from(r: &AnyRow) -> Result<Bank> {
    let action: Option<String> = r.try_get(5)?;
    let (tp, fp): (i64, i64) = (r.try_get(11)?, r.try_get(12)?);
    Ok(Bank {
        id: r.try_get(0)?,
        name: r.try_get(1)?,
        policy: r.try_get(2)?,
        description: r.try_get(3)?,
        match_threshold: u32::try_from(r.try_get::<i64, _>(4)?).unwrap_or(DEFAULT_THRESHOLD),
        auto_action: action.as_deref().and_then(ActionKind::parse),
        enabled: r.try_get::<i64, _>(6)? != 0,
        created_at: from_millis(r.try_get(7)?),
        entries: r.try_get(8)?,
        enabled_entries: r.try_get(9)?,
        matches: r.try_get(10)?,
        true_positives: tp,
        false_positives: fp,
        precision: precision(tp, fp),
    })
}

pub async fn insert_bank(db: &Db, b: &NewBank, by: i64, at: DateTime<Utc>) -> Result<i64> {
    let taken = sqlx::query("SELECT 1 FROM banks WHERE name = $1")
        .bind(b.name.trim().to_string())
        .fetch_optional(db.reader())
        .await?;
    if taken.is_some() {
        return Err(Error::field("name", "a bank of this name exists already"));
    }
    let row = sqlx::query(
        "INSERT INTO banks (name, policy_id, description, match_threshold, auto_action, enabled, \
         created_at, created_by) VALUES ($1, $2, $3, $4, $5, 1, $6, $7) RETURNING id",
    )
    .bind(b.name.trim().to_string())
    .bind(b.policy.trim().to_string())
    .bind(b.description.clone().unwrap_or_default())
    .bind(i64::from(b.match_threshold.unwrap_or(DEFAULT_THRESHOLD)))
    .bind(b.auto_action.map(|a| a.as_str().to_string()))
    .bind(to_millis(at))
    .bind(by)
    .fetch_one(&mut *db.write_conn().await?)
    .await?;
    Ok(row.try_get(0)?)
}

pub async fn update_bank(db: &Db, id: i64, c: &BankChange) -> Result<()> {
    let mut tx = db.begin().await?;
    if let Some(d) = &c.description {
        sqlx::query("UPDATE banks SET description = $1 WHERE id = $2")
            .bind(d.clone())
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    if let Some(t) = c.match_threshold {
        sqlx::query("UPDATE banks SET match_threshold = $1 WHERE id = $2")
            .bind(i64::from(t))
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    if let Some(a) = c.auto_action {
        sqlx::query("UPDATE banks SET auto_action = $1 WHERE id = $2")
            .bind(a.map(|a| a.as_str().to_string()))
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    if let Some(e) = c.enabled {
        sqlx::query("UPDATE banks SET enabled = $1 WHERE id = $2")
            .bind(i64::from(e))
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

pub async fn banks(db: &Db) -> Result<Vec<Bank>> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {BANK_COLUMNS} FROM banks b ORDER BY b.name"
    )))
    .fetch_all(db.reader())
    .await?
    .iter()
    .map(bank_from)
    .collect()
}

pub async fn bank(db: &Db, id: i64) -> Result<Option<Bank>> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {BANK_COLUMNS} FROM banks b WHERE b.id = $1"
    )))
    .bind(id)
    .fetch_optional(db.reader())
    .await?
    .as_ref()
    .map(bank_from)
    .transpose()
}

pub async fn bank_exists(db: &Db, id: i64) -> Result<bool> {
    Ok(sqlx::query("SELECT 1 FROM banks WHERE id = $1")
        .bind(id)
        .fetch_optional(db.reader())
        .await?
        .is_some())
}

/// What matching needs of every bank, by id.
pub async fn bank_rules(db: &Db) -> Result<HashMap<i64, BankRule>> {
    let rows =
        sqlx::query("SELECT id, name, match_threshold, enabled, auto_action, policy_id FROM banks")
            .fetch_all(db.reader())
            .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get(0)?,
                BankRule {
                    name: r.try_get(1)?,
                    threshold: u32::try_from(r.try_get::<i64, _>(2)?).unwrap_or(0),
                    enabled: r.try_get::<i64, _>(3)? != 0,
                    auto_action: r
                        .try_get::<Option<String>, _>(4)?
                        .as_deref()
                        .and_then(ActionKind::parse),
                    policy: r.try_get(5)?,
                },
            ))
        })
        .collect()
}

/// The banks a decision under `policy_id` adds its media to.
pub async fn banks_for_policy(conn: &mut AnyConnection, policy_id: &str) -> Result<Vec<i64>> {
    let rows = sqlx::query("SELECT id FROM banks WHERE policy_id = $1 AND enabled = 1")
        .bind(policy_id.to_string())
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
}

/// Where a bank's new entries came from.
#[derive(Debug, Clone, Default)]
pub struct Provenance {
    pub decision_id: Option<i64>,
    pub case_id: Option<i64>,
    pub list_name: Option<String>,
    pub added_by: Option<i64>,
}

fn entry_state(r: &AnyRow) -> Result<EntryState> {
    let hash: String = r.try_get(2)?;
    Ok(EntryState {
        id: r.try_get(0)?,
        bank_id: r.try_get(1)?,
        hash: hash
            .parse()
            .map_err(|e| Error::Internal(format!("a banked hash is unreadable: {e}")))?,
        live: r.try_get::<i64, _>(3)? != 0 && r.try_get::<Option<i64>, _>(4)?.is_none(),
        changed_at: r.try_get(5)?,
    })
}

const STATE_COLUMNS: &str = "id, bank_id, hash, enabled, removed_at, changed_at";

/// Adds hashes to a bank; those it holds already are left as they are. Returns the new entries,
/// for the caller's index.
pub async fn add_entries(
    conn: &mut AnyConnection,
    bank_id: i64,
    hashes: &[ListedHash],
    origin: Origin,
    from: &Provenance,
    at: DateTime<Utc>,
) -> Result<Vec<EntryState>> {
    let now = to_millis(at);
    let rows: Vec<Vec<Arg>> = hashes
        .iter()
        .map(|h| {
            vec![
                Arg::Int(bank_id),
                Arg::Text(h.hash.to_hex()),
                Arg::MaybeInt(h.quality.map(i64::from)),
                Arg::Text(origin.as_str().into()),
                Arg::MaybeInt(from.decision_id),
                Arg::MaybeInt(from.case_id),
                Arg::MaybeText(from.list_name.clone()),
                Arg::MaybeText(h.note.clone()),
                Arg::Int(1),
                Arg::Int(now),
                Arg::MaybeInt(from.added_by),
                Arg::Int(now),
            ]
        })
        .collect();
    // The rows written are the entries' states as they now stand; nothing to read back.
    let added = rows::insert_returning(
        conn,
        &BANK_ENTRIES,
        rows,
        " ON CONFLICT (bank_id, hash) DO NOTHING",
        STATE_COLUMNS,
    )
    .await?;
    added.iter().map(entry_state).collect()
}

/// Entry changes after `since` (a `(changed_at, id)` mark), oldest first, at most `limit`.
pub async fn entry_changes(db: &Db, since: (i64, i64), limit: i64) -> Result<Vec<EntryState>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {STATE_COLUMNS} FROM bank_entries \
         WHERE changed_at > $1 OR (changed_at = $1 AND id > $2) \
         ORDER BY changed_at, id LIMIT $3"
    )))
    .bind(since.0)
    .bind(since.1)
    .bind(limit)
    .fetch_all(db.reader())
    .await?;
    rows.iter().map(entry_state).collect()
}

fn entry_from(r: &AnyRow) -> Result<BankEntry> {
    let origin: String = r.try_get(4)?;
    Ok(BankEntry {
        id: r.try_get(0)?,
        bank_id: r.try_get(1)?,
        hash: r.try_get(2)?,
        quality: r
            .try_get::<Option<i64>, _>(3)?
            .and_then(|q| u8::try_from(q).ok()),
        origin: Origin::parse(&origin).unwrap_or(Origin::Manual),
        decision_id: r.try_get(5)?,
        case_id: r.try_get(6)?,
        list_name: r.try_get(7)?,
        note: r.try_get(8)?,
        enabled: r.try_get::<i64, _>(9)? != 0,
        added_at: from_millis(r.try_get(10)?),
        added_by: r.try_get(11)?,
    })
}

const ENTRY_COLUMNS: &str = "id, bank_id, hash, quality, origin, decision_id, case_id, list_name, \
     note, enabled, added_at, added_by";

/// A bank's entries (removed ones left out) after entry `after`, at most `limit`, oldest first.
pub async fn entries(db: &Db, bank_id: i64, after: i64, limit: i64) -> Result<Vec<BankEntry>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {ENTRY_COLUMNS} FROM bank_entries WHERE bank_id = $1 AND id > $2 \
         AND removed_at IS NULL ORDER BY id LIMIT $3"
    )))
    .bind(bank_id)
    .bind(after)
    .bind(limit)
    .fetch_all(db.reader())
    .await?;
    rows.iter().map(entry_from).collect()
}

pub async fn entry(db: &Db, bank_id: i64, entry_id: i64) -> Result<Option<BankEntry>> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {ENTRY_COLUMNS} FROM bank_entries WHERE bank_id = $1 AND id = $2 \
         AND removed_at IS NULL"
    )))
    .bind(bank_id)
    .bind(entry_id)
    .fetch_optional(db.reader())
    .await?
    .as_ref()
    .map(entry_from)
    .transpose()
}

/// Enables or disables an entry, or takes it out of its bank; the entry's new state, or `None`
/// when the bank has no such entry.
pub async fn change_entry(
    db: &Db,
    bank_id: i64,
    entry_id: i64,
    enabled: Option<bool>,
    remove: bool,
    at: DateTime<Utc>,
) -> Result<Option<EntryState>> {
    let now = to_millis(at);
    let mut tx = db.begin().await?;
    let done = sqlx::query(
        "UPDATE bank_entries SET enabled = COALESCE($1, enabled), \
         removed_at = CASE WHEN $2 = 1 THEN $3 ELSE removed_at END, changed_at = $3 \
         WHERE bank_id = $4 AND id = $5 AND removed_at IS NULL",
    )
    .bind(enabled.map(i64::from))
    .bind(i64::from(remove))
    .bind(now)
    .bind(bank_id)
    .bind(entry_id)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() == 0 {
        return Ok(None);
    }
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {STATE_COLUMNS} FROM bank_entries WHERE id = $1"
    )))
    .bind(entry_id)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some(entry_state(&row)?))
}

/// One queued piece of media.
#[derive(Debug, Clone)]
pub struct MediaCheck {
    pub id: i64,
    pub case_id: i64,
    pub report_id: i64,
    pub media_url: Option<String>,
    pub hash: Option<String>,
    pub attempts: i64,
}

/// Takes up to `limit` due checks until `lock_until`, so another server (or a later round after a
/// crash) takes them only once the lock has lapsed.
pub async fn take_due_checks(
    db: &Db,
    now: DateTime<Utc>,
    lock_until: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<MediaCheck>> {
    let mut tx = db.begin().await?;
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT id, case_id, report_id, media_url, hash, attempts FROM media_checks \
         WHERE state = 'pending' AND next_attempt_at <= $1 ORDER BY next_attempt_at, id LIMIT $2{}",
        db.for_update_skip_locked()
    )))
    .bind(to_millis(now))
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    let checks = rows
        .iter()
        .map(|r| {
            Ok(MediaCheck {
                id: r.try_get(0)?,
                case_id: r.try_get(1)?,
                report_id: r.try_get(2)?,
                media_url: r.try_get(3)?,
                hash: r.try_get(4)?,
                attempts: r.try_get(5)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    for c in &checks {
        sqlx::query("UPDATE media_checks SET next_attempt_at = $1 WHERE id = $2")
            .bind(to_millis(lock_until))
            .bind(c.id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(checks)
}

pub async fn finish_check(conn: &mut AnyConnection, id: i64) -> Result<()> {
    sqlx::query("UPDATE media_checks SET state = 'done', attempts = attempts + 1 WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Records a failed attempt: tried again at `retry_at`, or given up for good without one.
pub async fn fail_check(
    db: &Db,
    id: i64,
    error: &str,
    retry_at: Option<DateTime<Utc>>,
) -> Result<()> {
    sqlx::query(
        "UPDATE media_checks SET attempts = attempts + 1, last_error = $1, \
         state = CASE WHEN $2 IS NULL THEN 'failed' ELSE 'pending' END, \
         next_attempt_at = COALESCE($2, next_attempt_at) WHERE id = $3",
    )
    .bind(error.chars().take(500).collect::<String>())
    .bind(retry_at.map(to_millis))
    .bind(id)
    .execute(&mut *db.write_conn().await?)
    .await?;
    Ok(())
}

/// Checks still waiting (pending) and given up (failed), for the bank page.
pub async fn check_counts(db: &Db) -> Result<(i64, i64)> {
    let row = sqlx::query(
        "SELECT COALESCE(SUM(CASE WHEN state = 'pending' THEN 1 ELSE 0 END), 0), \
         COALESCE(SUM(CASE WHEN state = 'failed' THEN 1 ELSE 0 END), 0) FROM media_checks",
    )
    .fetch_one(db.reader())
    .await?;
    Ok((row.try_get(0)?, row.try_get(1)?))
}

/// Records a hashed piece of a case's media; the id of its row (the one there already when the
/// case has this hash from another report or URL).
pub async fn record_media(
    conn: &mut AnyConnection,
    case_id: i64,
    report_id: i64,
    media_url: Option<&str>,
    hash: &str,
    quality: Option<u8>,
    at: DateTime<Utc>,
) -> Result<i64> {
    sqlx::query(
        "INSERT INTO case_media (case_id, report_id, media_url, hash, quality, hashed_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (case_id, hash) DO NOTHING",
    )
    .bind(case_id)
    .bind(report_id)
    .bind(media_url.map(str::to_string))
    .bind(hash.to_string())
    .bind(quality.map(i64::from))
    .bind(to_millis(at))
    .execute(&mut *conn)
    .await?;
    let row = sqlx::query("SELECT id FROM case_media WHERE case_id = $1 AND hash = $2")
        .bind(case_id)
        .bind(hash.to_string())
        .fetch_one(&mut *conn)
        .await?;
    Ok(row.try_get(0)?)
}

/// The hashes of a case's media, with their quality.
pub async fn case_media_hashes(
    conn: &mut AnyConnection,
    case_id: i64,
) -> Result<Vec<(String, Option<u8>)>> {
    let rows = sqlx::query("SELECT hash, quality FROM case_media WHERE case_id = $1 ORDER BY id")
        .bind(case_id)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get(0)?,
                r.try_get::<Option<i64>, _>(1)?
                    .and_then(|q| u8::try_from(q).ok()),
            ))
        })
        .collect()
}

/// Records a match unless it is recorded already; its id if it is new.
pub async fn record_match(
    conn: &mut AnyConnection,
    case_id: i64,
    media_id: i64,
    hit: &Hit,
    at: DateTime<Utc>,
) -> Result<Option<i64>> {
    let row = sqlx::query(
        "INSERT INTO media_matches (case_id, media_id, bank_id, entry_id, distance, matched_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (media_id, entry_id) DO NOTHING RETURNING id",
    )
    .bind(case_id)
    .bind(media_id)
    .bind(hit.bank_id)
    .bind(hit.entry_id)
    .bind(i64::from(hit.distance))
    .bind(to_millis(at))
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| Ok(r.try_get(0)?)).transpose()
}

const MATCH_COLUMNS: &str = "m.id, m.case_id, m.bank_id, b.name, m.entry_id, m.distance, \
     cm.hash, cm.media_url, m.matched_at, m.verdict, m.verdict_by, m.verdict_at";

fn match_from(r: &AnyRow) -> Result<MediaMatch> {
    let verdict: Option<String> = r.try_get(9)?;
    Ok(MediaMatch {
        id: r.try_get(0)?,
        case_id: r.try_get(1)?,
        bank_id: r.try_get(2)?,
        bank_name: r.try_get(3)?,
        entry_id: r.try_get(4)?,
        distance: u32::try_from(r.try_get::<i64, _>(5)?).unwrap_or(u32::MAX),
        hash: r.try_get(6)?,
        media_url: r.try_get(7)?,
        matched_at: from_millis(r.try_get(8)?),
        verdict: verdict.as_deref().and_then(MatchVerdict::parse),
        verdict_by: r.try_get(10)?,
        verdict_at: r.try_get::<Option<i64>, _>(11)?.map(from_millis),
    })
}

pub async fn matches_for_case(db: &Db, case_id: i64) -> Result<Vec<MediaMatch>> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {MATCH_COLUMNS} FROM media_matches m JOIN banks b ON b.id = m.bank_id \
         JOIN case_media cm ON cm.id = m.media_id WHERE m.case_id = $1 ORDER BY m.id"
    )))
    .bind(case_id)
    .fetch_all(db.reader())
    .await?
    .iter()
    .map(match_from)
    .collect()
}

pub async fn media_match(
    conn: &mut AnyConnection,
    case_id: i64,
    match_id: i64,
) -> Result<Option<MediaMatch>> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {MATCH_COLUMNS} FROM media_matches m JOIN banks b ON b.id = m.bank_id \
         JOIN case_media cm ON cm.id = m.media_id WHERE m.case_id = $1 AND m.id = $2"
    )))
    .bind(case_id)
    .bind(match_id)
    .fetch_optional(&mut *conn)
    .await?
    .as_ref()
    .map(match_from)
    .transpose()
}

pub async fn judge_match(
    conn: &mut AnyConnection,
    match_id: i64,
    verdict: MatchVerdict,
    by: i64,
    at: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "UPDATE media_matches SET verdict = $1, verdict_by = $2, verdict_at = $3 WHERE id = $4",
    )
    .bind(verdict.as_str())
    .bind(by)
    .bind(to_millis(at))
    .bind(match_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
