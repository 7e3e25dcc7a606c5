//! People and programs: users, console sessions and API tokens (both stored only as hashes).

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::Db;
use crate::access::{Actor, Role};
use crate::clock::{from_millis, to_millis};
use crate::error::{Error, Result};

#[derive(Debug, Clone)]
pub struct UserRow {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub teams: Vec<String>,
    pub password_hash: Option<String>,
    pub created_at: DateTime<Utc>,
    pub disabled: bool,
}

impl UserRow {
    pub fn actor(&self) -> Actor {
        Actor {
            user_id: self.id,
            username: self.username.clone(),
            role: self.role,
            teams: self.teams.clone(),
        }
    }
}

const USER_COLUMNS: &str =
    "id, username, display_name, role, teams, password_hash, created_at, disabled";

fn user_from_row(r: &sqlx::any::AnyRow) -> Result<UserRow> {
    let role: String = r.try_get(3)?;
    Ok(UserRow {
        id: r.try_get(0)?,
        username: r.try_get(1)?,
        display_name: r.try_get(2)?,
        role: Role::parse(&role)
            .ok_or_else(|| Error::Internal(format!("unknown stored role {role}")))?,
        teams: serde_json::from_str(&r.try_get::<String, _>(4)?)?,
        password_hash: r.try_get(5)?,
        created_at: from_millis(r.try_get(6)?),
        disabled: r.try_get::<i64, _>(7)? != 0,
    })
}

pub struct NewUser<'a> {
    pub username: &'a str,
    pub display_name: &'a str,
    pub role: Role,
    pub teams: &'a [String],
    pub password_hash: Option<&'a str>,
}

pub async fn insert_user(
    conn: &mut sqlx::AnyConnection,
    u: NewUser<'_>,
    at: DateTime<Utc>,
) -> Result<i64> {
    let row = sqlx::query(
        "INSERT INTO users (username, display_name, role, teams, password_hash, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(u.username.to_string())
    .bind(u.display_name.to_string())
    .bind(u.role.as_str())
    .bind(serde_json::to_string(u.teams)?)
    .bind(u.password_hash.map(str::to_string))
    .bind(to_millis(at))
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => {
            Error::field("username", "is already taken")
        }
        _ => Error::from(e),
    })?;
    Ok(row.try_get(0)?)
}

pub async fn user_by_name(db: &Db, username: &str) -> Result<Option<UserRow>> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE username = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(username.to_string())
        .fetch_optional(db.reader())
        .await?;
    row.as_ref().map(user_from_row).transpose()
}

pub async fn user_by_id(db: &Db, id: i64) -> Result<Option<UserRow>> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(db.reader())
        .await?;
    row.as_ref().map(user_from_row).transpose()
}

pub async fn list_users(db: &Db) -> Result<Vec<UserRow>> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users ORDER BY username");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .fetch_all(db.reader())
        .await?;
    rows.iter().map(user_from_row).collect()
}

pub async fn insert_session(
    db: &Db,
    token_hash: &str,
    user_id: i64,
    at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<()> {
    let mut tx = db.begin().await?;
    sqlx::query("INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
        .bind(token_hash.to_string())
        .bind(user_id)
        .bind(to_millis(at))
        .bind(to_millis(expires_at))
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn delete_session(db: &Db, token_hash: &str) -> Result<()> {
    let mut tx = db.begin().await?;
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(token_hash.to_string())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// The enabled user behind a live session.
pub async fn user_by_session(
    db: &Db,
    token_hash: &str,
    now: DateTime<Utc>,
) -> Result<Option<UserRow>> {
    let sql = format!(
        "SELECT {} FROM users u JOIN sessions s ON s.user_id = u.id \
         WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.disabled = 0",
        USER_COLUMNS
            .split(", ")
            .map(|c| format!("u.{c}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(token_hash.to_string())
        .bind(to_millis(now))
        .fetch_optional(db.reader())
        .await?;
    row.as_ref().map(user_from_row).transpose()
}

pub async fn insert_token(
    conn: &mut sqlx::AnyConnection,
    token_hash: &str,
    user_id: i64,
    name: &str,
    at: DateTime<Utc>,
) -> Result<i64> {
    let row = sqlx::query("INSERT INTO api_tokens (token_hash, user_id, name, created_at) VALUES ($1, $2, $3, $4) RETURNING id")
        .bind(token_hash.to_string())
        .bind(user_id)
        .bind(name.to_string())
        .bind(to_millis(at))
        .fetch_one(&mut *conn)
        .await?;
    Ok(row.try_get(0)?)
}

/// The enabled user behind an unrevoked API token.
pub async fn user_by_token(db: &Db, token_hash: &str) -> Result<Option<UserRow>> {
    let sql = format!(
        "SELECT {} FROM users u JOIN api_tokens t ON t.user_id = u.id \
         WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND u.disabled = 0",
        USER_COLUMNS
            .split(", ")
            .map(|c| format!("u.{c}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(token_hash.to_string())
        .fetch_optional(db.reader())
        .await?;
    row.as_ref().map(user_from_row).transpose()
}

pub async fn sign_in_failures_since(
    db: &Db,
    username: &str,
    since: DateTime<Utc>,
) -> Result<Vec<DateTime<Utc>>> {
    let rows = sqlx::query("SELECT at FROM sign_in_failures WHERE username = $1 AND at > $2")
        .bind(username.to_string())
        .bind(to_millis(since))
        .fetch_all(db.reader())
        .await?;
    rows.iter()
        .map(|r| Ok(from_millis(r.try_get(0)?)))
        .collect()
}

pub async fn record_sign_in_failure(db: &Db, username: &str, at: DateTime<Utc>) -> Result<()> {
    let mut tx = db.begin().await?;
    // Old failures are forgotten as new ones arrive, so the table stays small.
    sqlx::query("DELETE FROM sign_in_failures WHERE at < $1")
        .bind(to_millis(at - chrono::Duration::days(1)))
        .execute(&mut *tx)
        .await?;
    sqlx::query("INSERT INTO sign_in_failures (username, at) VALUES ($1, $2)")
        .bind(username.to_string())
        .bind(to_millis(at))
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn clear_sign_in_failures(db: &Db, username: &str) -> Result<()> {
    let mut tx = db.begin().await?;
    sqlx::query("DELETE FROM sign_in_failures WHERE username = $1")
        .bind(username.to_string())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}
