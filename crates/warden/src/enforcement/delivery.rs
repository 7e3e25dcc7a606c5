//! The delivery worker: takes due rows from the outbox and posts each to the platform as a signed
//! webhook with its idempotency key. A failed try is retried with exponential backoff and jitter;
//! after the configured number of tries the row is dead until a lead retries it. Rows are taken
//! under a time-limited lock, so several servers share the work and a crashed server's rows are
//! taken again once its lock lapses: delivery is at least once, and exactly once to a receiver
//! that honours the idempotency key.

use chrono::{DateTime, Utc};
use std::time::Duration;

use super::signature::{IDEMPOTENCY_HEADER, SIGNATURE_HEADER, TOPIC_HEADER, sign};
use crate::access::{Actor, Permission};
use crate::alerts::ALERT_TOPIC;
use crate::config::DeliveryConfig;
use crate::desk::Desk;
use crate::error::{Error, Result};
use crate::store::enforcement::{self as store, Delivery, DeliveryState};

/// How long to wait before try `attempt + 1` after `attempt` failed tries: the base doubled per
/// try, capped, then scaled by `jitter` in [0.5, 1.0] so retries of many rows spread out.
pub fn retry_delay(attempts: i64, base_secs: i64, max_secs: i64, jitter: f64) -> chrono::Duration {
    let exp = u32::try_from(attempts.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
    let raw = base_secs.saturating_mul(1_i64 << exp).min(max_secs);
    let jitter = jitter.clamp(0.5, 1.0);
    chrono::Duration::milliseconds((raw as f64 * 1000.0 * jitter) as i64)
}

/// What one try came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Delivered,
    Failed(String),
}

/// The next state of a row after a try.
pub fn next_state(
    outcome: &Outcome,
    attempts_before: i64,
    cfg: &DeliveryConfig,
    now: DateTime<Utc>,
    jitter: f64,
) -> (DeliveryState, DateTime<Utc>) {
    match outcome {
        Outcome::Delivered => (DeliveryState::Delivered, now),
        Outcome::Failed(_) if attempts_before + 1 >= cfg.max_attempts => (DeliveryState::Dead, now),
        Outcome::Failed(_) => (
            DeliveryState::Failed,
            now + retry_delay(
                attempts_before + 1,
                cfg.backoff_base_seconds,
                cfg.backoff_max_seconds,
                jitter,
            ),
        ),
    }
}

/// Makes rustls on ring the process's TLS provider, once; every HTTP client needs it first.
pub fn install_tls() {
    // A second call finds it installed, which is what it wants.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

pub struct Deliverer {
    desk: Desk,
    client: reqwest::Client,
    /// Names this worker's locks; unique per process.
    worker: String,
}

impl Deliverer {
    pub fn new(desk: Desk) -> Result<Self> {
        install_tls();
        let timeout = Duration::from_secs(desk.config.delivery.timeout_seconds);
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .user_agent(concat!("warden/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Internal(format!("cannot build the HTTP client: {e}")))?;
        let worker = format!("{}-{:016x}", std::process::id(), rand::random::<u64>());
        Ok(Self {
            desk,
            client,
            worker,
        })
    }

    /// Delivers what is due now; returns how many rows were tried. Alert announcements go to the
    /// alerts webhook, everything else to the platform; rows for a receiver not configured wait.
    pub async fn deliver_due(&self) -> Result<usize> {
        let cfg = &self.desk.config.delivery;
        let platform = cfg.endpoint.as_deref();
        let alerts_hook = self.desk.config.alerts.webhook_url.as_deref();
        let topics = match (platform, alerts_hook) {
            (None, None) => return Ok(0),
            (Some(_), None) => store::Topics::AllBut(ALERT_TOPIC),
            (None, Some(_)) => store::Topics::Only(ALERT_TOPIC),
            (Some(_), Some(_)) => store::Topics::All,
        };
        let now = self.desk.now();
        // The lock outlives a request that runs to its timeout, so no other worker takes the row
        // while this one may still deliver it.
        let timeout = i64::try_from(cfg.timeout_seconds).unwrap_or(60);
        let lock_until = now + chrono::Duration::seconds(2 * timeout + 5);
        let due = store::take_due(
            &self.desk.db,
            &self.worker,
            now,
            lock_until,
            cfg.batch_size,
            topics,
        )
        .await?;
        let secret = cfg.secret();
        // The batch's tries run together, so one slow answer does not hold up the rest.
        let mut tries = tokio::task::JoinSet::new();
        for (i, d) in due.iter().enumerate() {
            let (endpoint, receiver) = if d.topic == ALERT_TOPIC {
                (alerts_hook, "the alerts webhook")
            } else {
                (platform, "the platform")
            };
            let Some(endpoint) = endpoint else { continue };
            let request = self.request(endpoint, secret.as_bytes(), d);
            tries.spawn(async move { (i, send(request, receiver).await) });
        }
        let mut outcomes: Vec<Outcome> = due
            .iter()
            .map(|_| Outcome::Failed("the try did not finish".into()))
            .collect();
        while let Some(done) = tries.join_next().await {
            if let Ok((i, outcome)) = done {
                outcomes[i] = outcome;
            }
        }
        for (d, outcome) in due.iter().zip(outcomes) {
            let at = self.desk.now();
            let jitter = 0.5 + rand::random::<f64>() / 2.0;
            let (state, next) = next_state(&outcome, d.attempts, cfg, at, jitter);
            let error = match &outcome {
                Outcome::Failed(e) => Some(e.as_str()),
                Outcome::Delivered => None,
            };
            store::finish_attempt(&self.desk.db, d.id, &self.worker, state, next, error, at)
                .await?;
            metrics::counter!("warden_deliveries_total", "topic" => d.topic.clone(), "state" => state.as_str())
                .increment(1);
            match state {
                DeliveryState::Dead => {
                    tracing::warn!(id = d.id, key = %d.idempotency_key, error = ?error, "delivery dead-lettered")
                }
                DeliveryState::Failed => {
                    tracing::info!(id = d.id, key = %d.idempotency_key, error = ?error, retry_at = %next, "delivery failed; will retry")
                }
                _ => tracing::debug!(id = d.id, key = %d.idempotency_key, "delivered"),
            }
        }
        Ok(due.len())
    }

    fn request(&self, endpoint: &str, secret: &[u8], d: &Delivery) -> reqwest::RequestBuilder {
        let body = d.payload.to_string();
        let signature = sign(secret, self.desk.now().timestamp(), body.as_bytes());
        self.client
            .post(endpoint)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(IDEMPOTENCY_HEADER, &d.idempotency_key)
            .header(SIGNATURE_HEADER, signature)
            .header(TOPIC_HEADER, &d.topic)
            .body(body)
    }

    /// Runs until `shutdown` resolves: delivers, reverses expired actions, sleeps when idle. A
    /// round that fails (the database is unreachable, say) is logged and tried again after a pause
    /// that grows while the failures go on, so an outage is neither a busy loop nor a flood of logs.
    pub async fn run(self, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        let idle = Duration::from_millis(self.desk.config.delivery.poll_interval_ms);
        let mut failures = 0u32;
        loop {
            let mut failed = false;
            if let Err(e) = super::expire_actions(&self.desk).await {
                tracing::warn!(error = %e, "expiring actions failed");
                failed = true;
            }
            let busy = match self.deliver_due().await {
                Ok(n) => n > 0,
                Err(e) => {
                    tracing::warn!(error = %e, "delivery round failed");
                    failed = true;
                    false
                }
            };
            failures = if failed {
                failures.saturating_add(1)
            } else {
                0
            };
            if !busy || failed {
                tokio::select! {
                    _ = tokio::time::sleep(pause_after(idle, failures)) => {}
                    _ = shutdown.changed() => return,
                }
            }
            if *shutdown.borrow() {
                return;
            }
        }
    }
}

/// The longest pause between rounds while they keep failing.
pub const MAX_FAILURE_PAUSE: Duration = Duration::from_secs(30);

/// How long the worker rests after a round that was idle (`failures` = 0) or the `failures`-th
/// failed round in a row: the poll interval, doubled per failure up to [`MAX_FAILURE_PAUSE`].
pub fn pause_after(idle: Duration, failures: u32) -> Duration {
    let doubling = failures.saturating_sub(1).min(16);
    idle.saturating_mul(1 << doubling)
        .min(MAX_FAILURE_PAUSE.max(idle))
}

async fn send(request: reqwest::RequestBuilder, receiver: &str) -> Outcome {
    match request.send().await {
        Ok(r) if r.status().is_success() => Outcome::Delivered,
        Ok(r) => Outcome::Failed(format!("{receiver} answered HTTP {}", r.status().as_u16())),
        Err(e) if e.is_timeout() => Outcome::Failed(format!("{receiver} did not answer in time")),
        Err(e) if e.is_connect() => Outcome::Failed(format!("cannot connect to {receiver}")),
        Err(e) => Outcome::Failed(format!("delivery failed: {e}")),
    }
}

/// Deliveries as leads see them: those of restricted cases only to the case's team.
pub async fn list(
    desk: &Desk,
    actor: &Actor,
    state: Option<DeliveryState>,
    case_id: Option<i64>,
    limit: i64,
) -> Result<Vec<Delivery>> {
    actor.require(Permission::ManageDeliveries)?;
    store::list_deliveries(&desk.db, &actor.teams, state, case_id, limit).await
}

/// A lead sends a dead (or failing) delivery again now. One of a case the lead may not see is
/// "not found", as an unknown id is, so its answer tells nothing about the case.
pub async fn retry(desk: &Desk, actor: &Actor, id: i64) -> Result<Delivery> {
    actor.require(Permission::ManageDeliveries)?;
    let now = desk.now();
    let mut tx = desk.db.begin().await?;
    let done = store::retry_delivery(&mut tx, id, &actor.teams, now).await?;
    if done {
        crate::store::cases::record_audit(
            &mut tx,
            "delivery",
            "delivery_retried",
            crate::store::cases::Who::user(actor),
            &serde_json::json!({ "delivery_id": id }),
            now,
        )
        .await?;
    }
    tx.commit().await?;
    let d = store::get_delivery(&desk.db, id, &actor.teams)
        .await?
        .ok_or(Error::NotFound("delivery"))?;
    if !done {
        return Err(Error::Conflict(format!(
            "delivery {id} is {}; only dead or failed deliveries are retried",
            d.state.as_str()
        )));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_exponentially_up_to_the_cap_with_jitter() {
        let s = |attempts, jitter| retry_delay(attempts, 10, 3600, jitter).num_seconds();
        assert_eq!(s(1, 1.0), 10);
        assert_eq!(s(2, 1.0), 20);
        assert_eq!(s(3, 1.0), 40);
        assert_eq!(s(10, 1.0), 3600);
        assert_eq!(s(100, 1.0), 3600);
        assert_eq!(s(3, 0.5), 20);
        assert_eq!(s(3, 0.0), 20, "jitter never shortens below half");
    }

    #[test]
    fn failing_rounds_pause_longer_and_longer_up_to_a_cap() {
        let idle = Duration::from_millis(500);
        assert_eq!(pause_after(idle, 0), idle);
        assert_eq!(pause_after(idle, 1), idle);
        assert_eq!(pause_after(idle, 2), 2 * idle);
        assert_eq!(pause_after(idle, 4), 8 * idle);
        assert_eq!(pause_after(idle, 20), MAX_FAILURE_PAUSE);
        assert_eq!(pause_after(idle, u32::MAX), MAX_FAILURE_PAUSE);
        let slow = Duration::from_secs(60);
        assert_eq!(
            pause_after(slow, 5),
            slow,
            "never shorter than the poll interval"
        );
    }

    #[test]
    fn a_row_dies_after_its_last_try() {
        let cfg = DeliveryConfig {
            max_attempts: 3,
            ..DeliveryConfig::default()
        };
        let now: DateTime<Utc> = "2026-11-23T10:00:00Z".parse().unwrap();
        let fail = Outcome::Failed("HTTP 500".into());
        let (state, next) = next_state(&fail, 0, &cfg, now, 1.0);
        assert_eq!(state, DeliveryState::Failed);
        assert_eq!((next - now).num_seconds(), cfg.backoff_base_seconds);
        assert_eq!(
            next_state(&fail, 1, &cfg, now, 1.0).0,
            DeliveryState::Failed
        );
        assert_eq!(next_state(&fail, 2, &cfg, now, 1.0).0, DeliveryState::Dead);
        assert_eq!(
            next_state(&Outcome::Delivered, 2, &cfg, now, 1.0).0,
            DeliveryState::Delivered
        );
    }
}
