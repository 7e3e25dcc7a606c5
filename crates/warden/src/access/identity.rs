//! Identity: passwords (argon2), console sessions and API tokens. Secrets are random, shown once,
//! and stored only as SHA-256 hashes.

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use chrono::Duration;
use sha2::{Digest, Sha256};

use super::{Actor, Permission, Role};
use crate::desk::Desk;
use crate::domain::validate::Checker;
use crate::error::{Error, Result};
use crate::store::cases::{Who, record_audit};
use crate::store::users::{self, NewUser, UserRow};

pub const SESSION_HOURS: i64 = 12;

/// Hashes a password with argon2 on a blocking thread (it is slow on purpose).
pub async fn hash_password(password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| Error::Internal(format!("password hashing failed: {e}")))
    })
    .await
    .map_err(|e| Error::Internal(e.to_string()))?
}

pub async fn verify_password(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash).is_ok_and(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
    })
    .await
    .unwrap_or(false)
}

pub fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// A new random secret with a recognisable prefix (so a leaked one can be found by scanners).
pub fn new_secret(prefix: &str) -> String {
    let bytes: [u8; 32] = rand::random();
    format!("{prefix}_{}", hex::encode(bytes))
}

pub struct UserInput {
    pub username: String,
    pub display_name: Option<String>,
    pub role: Role,
    pub teams: Vec<String>,
    pub password: Option<String>,
}

pub async fn create_user(desk: &Desk, by: Who<'_>, input: UserInput) -> Result<UserRow> {
    let mut c = Checker::new();
    c.slug("username", &input.username, 64);
    c.optional_text("display_name", input.display_name.as_deref(), 200);
    for (i, t) in input.teams.iter().enumerate() {
        c.slug(&format!("teams[{i}]"), t, 64);
    }
    if let Some(p) = &input.password {
        if p.chars().count() < 10 {
            c.fail("password", "must be at least 10 characters");
        } else if p.len() > 1024 {
            c.fail("password", "must be at most 1024 bytes");
        }
    }
    if input.password.is_none() && input.role != Role::Integration {
        c.fail(
            "password",
            "is required for people (only integrations sign in by token alone)",
        );
    }
    c.finish()?;
    let hash = match input.password {
        Some(p) => Some(hash_password(p).await?),
        None => None,
    };
    let now = desk.now();
    let mut tx = desk.db.begin().await?;
    let display = input
        .display_name
        .clone()
        .unwrap_or_else(|| input.username.clone());
    let id = users::insert_user(
        &mut tx,
        NewUser {
            username: &input.username,
            display_name: &display,
            role: input.role,
            teams: &input.teams,
            password_hash: hash.as_deref(),
        },
        now,
    )
    .await?;
    let payload = serde_json::json!({"user_id": id, "username": input.username, "role": input.role, "teams": input.teams});
    record_audit(&mut tx, "user", "user_created", by, &payload, now).await?;
    tx.commit().await?;
    users::user_by_id(&desk.db, id)
        .await?
        .ok_or(Error::NotFound("user"))
}

/// Issues an API token for a user; the plain token is returned once and never stored.
pub async fn create_token(desk: &Desk, by: Who<'_>, user_id: i64, name: &str) -> Result<String> {
    let mut c = Checker::new();
    c.required_text("name", name, 100);
    c.finish()?;
    users::user_by_id(&desk.db, user_id)
        .await?
        .ok_or(Error::NotFound("user"))?;
    let token = new_secret("wdn");
    let now = desk.now();
    let mut tx = desk.db.begin().await?;
    let id = users::insert_token(&mut tx, &secret_hash(&token), user_id, name, now).await?;
    record_audit(
        &mut tx,
        "token",
        "token_created",
        by,
        &serde_json::json!({"token_id": id, "user_id": user_id, "name": name}),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(token)
}

/// Failed sign-ins for one username within [`THROTTLE_WINDOW_MINUTES`] after which further attempts
/// are refused until the oldest of them ages out.
pub const THROTTLE_FAILURES: i64 = 5;
pub const THROTTLE_WINDOW_MINUTES: i64 = 15;

/// Checks a password and opens a new session (never reusing one); the same answer for an unknown
/// user and a wrong password. Repeated failures for a username are throttled.
pub async fn sign_in(desk: &Desk, username: &str, password: &str) -> Result<(String, UserRow)> {
    let now = desk.now();
    let window = now - Duration::minutes(THROTTLE_WINDOW_MINUTES);
    let failures = users::sign_in_failures_since(&desk.db, username, window).await?;
    if failures.len() as i64 >= THROTTLE_FAILURES {
        let oldest = failures.iter().min().copied().unwrap_or(now);
        let retry = (oldest + Duration::minutes(THROTTLE_WINDOW_MINUTES) - now)
            .num_seconds()
            .max(1);
        metrics::counter!("warden_sign_in_throttled_total").increment(1);
        return Err(Error::TooManyAttempts {
            retry_after_secs: retry,
        });
    }
    let user = users::user_by_name(&desk.db, username).await?;
    let hash = user.as_ref().and_then(|u| u.password_hash.clone());
    // Verify against a dummy hash when the user is unknown, so timing does not reveal who exists.
    let ok = match hash {
        Some(h) => verify_password(password.to_string(), h).await,
        None => {
            let _ = verify_password(password.to_string(), dummy_hash().await?).await;
            false
        }
    };
    let user = match user {
        Some(u) if ok && !u.disabled && u.role != Role::Integration => u,
        _ => {
            users::record_sign_in_failure(&desk.db, username, now).await?;
            return Err(Error::Unauthenticated);
        }
    };
    users::clear_sign_in_failures(&desk.db, username).await?;
    let session = new_secret("wds");
    users::insert_session(
        &desk.db,
        &secret_hash(&session),
        user.id,
        now,
        now + Duration::hours(SESSION_HOURS),
    )
    .await?;
    Ok((session, user))
}

/// A real hash of a random password, made once, to spend the same effort on unknown users.
async fn dummy_hash() -> Result<String> {
    static DUMMY: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    DUMMY
        .get_or_try_init(|| hash_password(new_secret("dummy")))
        .await
        .cloned()
}

pub async fn sign_out(desk: &Desk, session: &str) -> Result<()> {
    users::delete_session(&desk.db, &secret_hash(session)).await
}

/// The caller behind an API token: from the desk's recent lookups, else the database.
pub async fn actor_for_token(desk: &Desk, token: &str) -> Result<Actor> {
    let hash = secret_hash(token);
    let asked = std::time::Instant::now();
    if let Some(actor) = desk.tokens.get(&hash, asked) {
        return Ok(actor);
    }
    let actor = users::user_by_token(&desk.db, &hash)
        .await?
        .map(|u| u.actor())
        .ok_or(Error::Unauthenticated)?;
    desk.tokens.put(hash, actor.clone(), asked);
    Ok(actor)
}

pub async fn actor_for_session(desk: &Desk, session: &str) -> Result<Actor> {
    users::user_by_session(&desk.db, &secret_hash(session), desk.now())
        .await?
        .map(|u| u.actor())
        .ok_or(Error::Unauthenticated)
}

pub fn require_admin(actor: &Actor) -> Result<()> {
    actor.require(Permission::ManageUsers)
}
