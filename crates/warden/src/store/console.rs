//! What the console keeps for people: the shift's exposure count (per session) and settings.

use sqlx::{AnyConnection, Row};

use super::Db;
use crate::error::Result;

/// Counts one revealed media item in the session; returns the shift's count so far.
pub async fn add_exposure(conn: &mut AnyConnection, session_hash: &str) -> Result<i64> {
    let row = sqlx::query(
        "UPDATE sessions SET exposures = exposures + 1 WHERE token_hash = $1 RETURNING exposures",
    )
    .bind(session_hash.to_string())
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|r| r.try_get(0)).transpose()?.unwrap_or(0))
}

pub async fn exposures(db: &Db, session_hash: &str) -> Result<i64> {
    let row = sqlx::query("SELECT exposures FROM sessions WHERE token_hash = $1")
        .bind(session_hash.to_string())
        .fetch_optional(db.reader())
        .await?;
    Ok(row.map(|r| r.try_get(0)).transpose()?.unwrap_or(0))
}

pub async fn keep_greyscale(db: &Db, user_id: i64) -> Result<bool> {
    let row = sqlx::query("SELECT keep_greyscale FROM user_prefs WHERE user_id = $1")
        .bind(user_id)
        .fetch_optional(db.reader())
        .await?;
    Ok(row
        .map(|r| r.try_get::<i64, _>(0))
        .transpose()?
        .unwrap_or(0)
        != 0)
}

pub async fn set_keep_greyscale(conn: &mut AnyConnection, user_id: i64, on: bool) -> Result<()> {
    sqlx::query(
        "INSERT INTO user_prefs (user_id, keep_greyscale) VALUES ($1, $2) \
         ON CONFLICT (user_id) DO UPDATE SET keep_greyscale = excluded.keep_greyscale",
    )
    .bind(user_id)
    .bind(i64::from(on))
    .execute(&mut *conn)
    .await?;
    Ok(())
}
