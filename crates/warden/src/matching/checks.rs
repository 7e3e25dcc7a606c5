//! The media checker: hashes the media intake queued (fetched from the platform's media hosts, or
//! sent hashed by the platform), matches each hash against the banks, and records what matched on
//! the case, re-triaging it and taking a bank's automatic action. Checks are taken under a
//! time-limited lock, so several servers share them and a crashed server's checks are taken again.

use std::time::Duration;

use pdq::Hash256;

use super::{Hit, MIN_QUALITY};
use crate::config::MediaConfig;
use crate::desk::Desk;
use crate::domain::case::CaseStatus;
use crate::domain::enforcement::ActionKind;
use crate::domain::events::CaseEvent;
use crate::enforcement;
use crate::enforcement::delivery::{install_tls, pause_after, retry_delay};
use crate::error::{Error, Result};
use crate::store::banks::{self as store, MediaCheck};
use crate::store::cases::{self, Who};
use crate::triage::retriage;

/// Checks taken in one round.
const BATCH: i64 = 16;
/// How long a taken check is left to its taker before another may take it.
const LOCK: chrono::Duration = chrono::Duration::seconds(120);
/// Entry changes read per statement while catching up with the database.
const CHANGES_PER_READ: i64 = 50_000;

/// How far back each catch-up reads again: a change is stamped when its transaction starts, so
/// one that commits late can carry an earlier stamp than changes already read. Reading an entry
/// twice is harmless.
const SLACK_MILLIS: i64 = 120_000;

/// Brings this server's index up to date with the banks in the database: their thresholds and
/// states, and every entry added, disabled or removed since the last time (here or elsewhere).
pub async fn refresh(desk: &Desk) -> Result<()> {
    let rules = store::bank_rules(&desk.db).await?;
    desk.banks.write().set_banks(rules);
    let mut since = (
        desk.banks.read().synced_to().0.saturating_sub(SLACK_MILLIS),
        0,
    );
    loop {
        let changes = store::entry_changes(&desk.db, since, CHANGES_PER_READ).await?;
        let Some(last) = changes.last() else {
            return Ok(());
        };
        since = (last.changed_at, last.id);
        let more = changes.len() as i64 == CHANGES_PER_READ;
        desk.banks.write().apply(&changes);
        if !more {
            return Ok(());
        }
    }
}

/// Why a check did not come to a hash.
#[derive(Debug)]
enum Missed {
    /// Worth trying again later (the host was down, slow or busy).
    Retry(String),
    /// Trying again would give the same answer.
    GiveUp(String),
}

pub struct MediaChecker {
    desk: Desk,
    client: reqwest::Client,
}

fn client(cfg: &MediaConfig) -> Result<reqwest::Client> {
    install_tls();
    let allowed = cfg.clone();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(cfg.fetch_timeout_seconds))
        // A redirect is followed only to another fetch host, so no URL can lead the desk elsewhere.
        .redirect(reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() < 5 && allowed.fetches(attempt.url().as_str()) {
                attempt.follow()
            } else {
                attempt.stop()
            }
        }))
        .build()
        .map_err(|e| Error::Internal(format!("media client: {e}")))
}

impl MediaChecker {
    pub fn new(desk: Desk) -> Result<Self> {
        let client = client(&desk.config.media)?;
        Ok(Self { desk, client })
    }

    /// One round: take the due checks, catch up with the banks, then settle each. How many it
    /// took.
    pub async fn round(&self) -> Result<usize> {
        let now = self.desk.now();
        let checks = store::take_due_checks(&self.desk.db, now, now + LOCK, BATCH).await?;
        if checks.is_empty() {
            return Ok(0);
        }
        // Matched against the banks as they are now, not as they were at the last round.
        refresh(&self.desk).await?;
        for check in &checks {
            self.settle(check).await?;
        }
        Ok(checks.len())
    }

    /// Hashes one check's media and records it, or records why not.
    async fn settle(&self, check: &MediaCheck) -> Result<()> {
        let hashed = match (&check.hash, &check.media_url) {
            (Some(hex), _) => hex
                .parse::<Hash256>()
                .map(|h| (h, None))
                .map_err(|e| Missed::GiveUp(e.to_string())),
            (None, Some(url)) => self.fetch_and_hash(url).await,
            (None, None) => Err(Missed::GiveUp("nothing to hash".into())),
        };
        match hashed {
            Ok((hash, quality)) => record(&self.desk, check, &hash, quality).await,
            Err(missed) => {
                let now = self.desk.now();
                let (error, retry_at) = match missed {
                    Missed::Retry(e)
                        if check.attempts + 1 < self.desk.config.media.max_attempts =>
                    {
                        let jitter = 0.5 + rand::random::<f64>() / 2.0;
                        (
                            e,
                            Some(now + retry_delay(check.attempts + 1, 5, 600, jitter)),
                        )
                    }
                    Missed::Retry(e) | Missed::GiveUp(e) => (e, None),
                };
                tracing::info!(check = check.id, case = check.case_id, error = %error,
                    retry = retry_at.is_some(), "media not hashed");
                store::fail_check(&self.desk.db, check.id, &error, retry_at).await
            }
        }
    }

    async fn fetch_and_hash(
        &self,
        url: &str,
    ) -> std::result::Result<(Hash256, Option<u8>), Missed> {
        let cfg = &self.desk.config.media;
        if !cfg.fetches(url) {
            return Err(Missed::GiveUp(
                "the URL's host is not a media fetch host".into(),
            ));
        }
        let mut response = self
            .client
            .get(url)
            .send()
            .await
            .map_err(|e| Missed::Retry(format!("fetch failed: {e}")))?;
        let status = response.status();
        if status.is_server_error() || status.as_u16() == 429 {
            return Err(Missed::Retry(format!("the media host answered {status}")));
        }
        if !status.is_success() {
            return Err(Missed::GiveUp(format!("the media host answered {status}")));
        }
        let too_large = || Missed::GiveUp(format!("larger than {} bytes", cfg.max_media_bytes));
        if response
            .content_length()
            .is_some_and(|n| n > cfg.max_media_bytes)
        {
            return Err(too_large());
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| Missed::Retry(format!("fetch cut off: {e}")))?
        {
            if (bytes.len() + chunk.len()) as u64 > cfg.max_media_bytes {
                return Err(too_large());
            }
            bytes.extend_from_slice(&chunk);
        }
        // Decoding and hashing are CPU work; kept off the threads that serve requests.
        let hashed = tokio::task::spawn_blocking(move || pdq::hash_image_bytes(&bytes))
            .await
            .map_err(|e| Missed::Retry(format!("hashing stopped: {e}")))?;
        hashed
            .map(|h| (h.hash, Some(h.quality)))
            .map_err(|e| Missed::GiveUp(format!("not hashable: {e}")))
    }

    /// Runs until `shutdown` resolves; woken early when intake queues media.
    pub async fn run(self, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        let idle = Duration::from_millis(self.desk.config.media.poll_interval_ms);
        let mut failures = 0u32;
        loop {
            let busy = match self.round().await {
                Ok(n) => {
                    failures = 0;
                    n > 0
                }
                Err(e) => {
                    tracing::warn!(error = %e, "media check round failed");
                    failures = failures.saturating_add(1);
                    false
                }
            };
            if !busy {
                tokio::select! {
                    _ = tokio::time::sleep(pause_after(idle, failures)) => {}
                    _ = self.desk.banks.queued.notified() => {}
                    _ = shutdown.changed() => return,
                }
            }
            if *shutdown.borrow() {
                return;
            }
        }
    }
}

/// Records a check's hash on its case with whatever it matched, in one transaction: the media,
/// the new matches as events, the re-triage they bring, and a bank's automatic action.
async fn record(
    desk: &Desk,
    check: &MediaCheck,
    hash: &Hash256,
    quality: Option<u8>,
) -> Result<()> {
    let now = desk.now();
    // Featureless images hash alike; their matches would be noise.
    let hits = if quality.is_some_and(|q| q < MIN_QUALITY) {
        Vec::new()
    } else {
        desk.banks.read().lookup(hash)
    };
    let automatic = automatic_action(desk, &hits).await?;
    let reports = match &automatic {
        Some(_) => cases::reports_for_case(&desk.db, check.case_id).await?,
        None => Vec::new(),
    };
    let mut tx = desk.db.begin().await?;
    let Some(mut case) = cases::lock_case(&desk.db, &mut tx, check.case_id).await? else {
        return Err(Error::NotFound("case"));
    };
    let hex = hash.to_hex();
    let media_id = store::record_media(
        &mut tx,
        case.id,
        check.report_id,
        check.media_url.as_deref(),
        &hex,
        quality,
        now,
    )
    .await?;
    let mut events = Vec::new();
    let mut new_hits = Vec::new();
    for hit in &hits {
        if let Some(match_id) = store::record_match(&mut tx, case.id, media_id, hit, now).await? {
            events.push(CaseEvent::MediaMatched {
                match_id,
                bank_id: hit.bank_id,
                bank: hit.bank.clone(),
                entry_id: hit.entry_id,
                distance: hit.distance,
                hash: hex.clone(),
                media_url: check.media_url.clone(),
            });
            new_hits.push(hit.clone());
        }
    }
    if !events.is_empty() {
        let reason = Some("known media");
        cases::append(&mut tx, &mut case, events, Who::SYSTEM, reason, now).await?;
        let triaged = retriage(&desk.config, &case, now);
        cases::append(&mut tx, &mut case, vec![triaged], Who::SYSTEM, reason, now).await?;
        let waiting = case.status == CaseStatus::New || case.status.is_queued();
        if let (Some(auto), true) = (&automatic, waiting)
            && let Some(hit) = new_hits.iter().find(|h| h.bank_id == auto.bank_id)
        {
            enforcement::decide_automatically(
                &mut tx,
                desk,
                &mut case,
                &auto.policy,
                auto.action,
                &enforcement::Automatic {
                    bank: &hit.bank,
                    entry_id: hit.entry_id,
                    distance: hit.distance,
                },
                &reports,
                now,
            )
            .await?;
        }
        cases::save_case(&mut tx, &case, now).await?;
        metrics::counter!("warden_media_matches_total").increment(new_hits.len() as u64);
    }
    store::finish_check(&mut tx, check.id).await?;
    tx.commit().await?;
    Ok(())
}

/// The automatic action the nearest hit's bank takes, with the policy it acts under.
struct AutomaticAction {
    bank_id: i64,
    action: ActionKind,
    policy: crate::domain::policy::Policy,
}

async fn automatic_action(desk: &Desk, hits: &[Hit]) -> Result<Option<AutomaticAction>> {
    for hit in hits {
        // The rules were read from the database when this round caught up.
        let rule = desk.banks.read().bank(hit.bank_id).cloned();
        let Some((action, policy_id)) = rule.and_then(|r| Some((r.auto_action?, r.policy))) else {
            continue;
        };
        match enforcement::resolve_policy(desk, &policy_id, desk.now().date_naive()).await {
            Ok(policy) => {
                return Ok(Some(AutomaticAction {
                    bank_id: hit.bank_id,
                    action,
                    policy,
                }));
            }
            Err(e) => {
                tracing::warn!(bank = hit.bank_id, error = %e, "a bank's automatic action has no policy in effect");
            }
        }
    }
    Ok(None)
}
