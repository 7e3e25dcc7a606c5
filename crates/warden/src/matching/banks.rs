//! What people do with banks: create and tune them, add, import, export, disable and remove
//! entries, and judge the matches on their cases. Every change to entries reaches this server's
//! index as soon as it is committed, so a disabled entry stops matching at once.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{
    Bank, BankChange, BankEntry, ListFormat, ListedHash, MatchVerdict, MediaMatch, NewBank, Origin,
    parse_hash_list,
};
use crate::access::{Actor, Permission};
use crate::desk::Desk;
use crate::domain::enforcement::ActionKind;
use crate::domain::events::CaseEvent;
use crate::domain::validate::Checker;
use crate::error::{Error, Result};
use crate::review::lock_visible;
use crate::store::banks::{self as store, Provenance};
use crate::store::cases::{self, Who};
use crate::store::enforcement::policy_versions;

/// What a bank's policy allows, from its latest version; `None` when there is no such policy.
async fn allowed_actions(desk: &Desk, policy_id: &str) -> Result<Option<Vec<ActionKind>>> {
    let versions = policy_versions(&desk.db, policy_id.trim()).await?;
    Ok(versions
        .last()
        .map(|p| p.policy.allowed_actions.iter().copied().collect()))
}

pub async fn list(desk: &Desk, actor: &Actor) -> Result<Vec<Bank>> {
    actor.require(Permission::ReadBanks)?;
    store::banks(&desk.db).await
}

pub async fn get(desk: &Desk, actor: &Actor, id: i64) -> Result<Bank> {
    actor.require(Permission::ReadBanks)?;
    store::bank(&desk.db, id)
        .await?
        .ok_or(Error::NotFound("bank"))
}

/// Refuses a reader who may not see banks, or a bank that does not exist; without its figures,
/// which count every entry and match of the bank.
async fn existing(desk: &Desk, actor: &Actor, id: i64) -> Result<()> {
    actor.require(Permission::ReadBanks)?;
    if store::bank_exists(&desk.db, id).await? {
        Ok(())
    } else {
        Err(Error::NotFound("bank"))
    }
}

pub async fn create(desk: &Desk, actor: &Actor, new: &NewBank) -> Result<Bank> {
    actor.require(Permission::ManageBanks)?;
    let allowed = allowed_actions(desk, &new.policy).await?;
    let mut c = Checker::new();
    new.check(&mut c, allowed.as_deref());
    c.finish()?;
    let id = store::insert_bank(&desk.db, new, actor.user_id, desk.now()).await?;
    super::checks::refresh(desk).await?;
    get(desk, actor, id).await
}

pub async fn change(desk: &Desk, actor: &Actor, id: i64, change: &BankChange) -> Result<Bank> {
    actor.require(Permission::ManageBanks)?;
    let bank = get(desk, actor, id).await?;
    let allowed = allowed_actions(desk, &bank.policy)
        .await?
        .unwrap_or_default();
    let mut c = Checker::new();
    change.check(&mut c, &allowed);
    c.finish()?;
    store::update_bank(&desk.db, id, change).await?;
    super::checks::refresh(desk).await?;
    get(desk, actor, id).await
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEntry {
    /// 64 hex digits, in the reference order.
    pub hash: String,
    #[serde(default)]
    pub quality: Option<u8>,
    #[serde(default)]
    pub note: Option<String>,
}

/// What an addition or import did.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Added {
    pub added: usize,
    /// Hashes the bank held already, left as they were.
    pub already_banked: usize,
}

/// Adds hashes by hand; every bad one is named and none is added.
pub async fn add(desk: &Desk, actor: &Actor, bank_id: i64, entries: &[NewEntry]) -> Result<Added> {
    may_add_to(desk, actor, bank_id).await?;
    let mut c = Checker::new();
    if entries.is_empty() {
        c.fail("entries", "must hold at least one hash");
    }
    if entries.len() > 10_000 {
        c.fail(
            "entries",
            "at most 10000 hashes at once; import a list for more",
        );
    }
    let mut listed = Vec::with_capacity(entries.len());
    for (i, e) in entries.iter().enumerate() {
        match e.hash.parse() {
            Ok(hash) => listed.push(ListedHash {
                hash,
                quality: e.quality,
                note: e.note.clone(),
            }),
            Err(err) => c.fail(&format!("entries[{i}].hash"), err.to_string()),
        }
        if let Some(problem) = e.quality.and_then(super::quality_problem) {
            c.fail(&format!("entries[{i}].quality"), problem);
        }
        c.optional_text(&format!("entries[{i}].note"), e.note.as_deref(), 500);
    }
    c.finish()?;
    let from = Provenance {
        added_by: Some(actor.user_id),
        ..Default::default()
    };
    put(desk, bank_id, &listed, Origin::Manual, &from).await
}

/// Imports a hash list (one hex hash per line, or CSV with a `hash` column): all of it or none.
pub async fn import(
    desk: &Desk,
    actor: &Actor,
    bank_id: i64,
    text: &str,
    format: ListFormat,
    list_name: Option<&str>,
) -> Result<Added> {
    // Refused before the list is read: someone who may not import learns nothing of its lines.
    may_add_to(desk, actor, bank_id).await?;
    let listed = parse_hash_list(text, format).map_err(Error::Invalid)?;
    let mut c = Checker::new();
    c.optional_text("list_name", list_name, 200);
    c.finish()?;
    let from = Provenance {
        list_name: list_name.map(str::to_string),
        added_by: Some(actor.user_id),
        ..Default::default()
    };
    put(desk, bank_id, &listed, Origin::Import, &from).await
}

/// Refuses someone who may not add to banks, or a bank that does not exist.
async fn may_add_to(desk: &Desk, actor: &Actor, bank_id: i64) -> Result<()> {
    actor.require(Permission::ManageBanks)?;
    existing(desk, actor, bank_id).await
}

/// Adds checked hashes to a bank the caller has made sure of ([`may_add_to`]).
async fn put(
    desk: &Desk,
    bank_id: i64,
    listed: &[ListedHash],
    origin: Origin,
    from: &Provenance,
) -> Result<Added> {
    let mut tx = desk.db.begin().await?;
    let added = store::add_entries(&mut tx, bank_id, listed, origin, from, desk.now()).await?;
    tx.commit().await?;
    desk.banks.write().apply(&added);
    let distinct: std::collections::BTreeSet<_> = listed.iter().map(|h| h.hash).collect();
    Ok(Added {
        added: added.len(),
        already_banked: distinct.len().saturating_sub(added.len()),
    })
}

/// A page of a bank's entries, oldest first, after entry `after`.
pub async fn entries(
    desk: &Desk,
    actor: &Actor,
    bank_id: i64,
    after: i64,
    limit: i64,
) -> Result<Vec<BankEntry>> {
    existing(desk, actor, bank_id).await?;
    store::entries(&desk.db, bank_id, after, limit.clamp(1, 1000)).await
}

/// Every entry of a bank as a hash list.
pub async fn export(
    desk: &Desk,
    actor: &Actor,
    bank_id: i64,
    format: ListFormat,
) -> Result<String> {
    existing(desk, actor, bank_id).await?;
    let mut all = Vec::new();
    let mut after = 0;
    loop {
        let page = store::entries(&desk.db, bank_id, after, 10_000).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        all.extend(page);
    }
    Ok(super::export_hash_list(&all, format))
}

/// Enables, disables or removes an entry; the change holds for matching at once.
pub async fn change_entry(
    desk: &Desk,
    actor: &Actor,
    bank_id: i64,
    entry_id: i64,
    enabled: Option<bool>,
    remove: bool,
) -> Result<Option<BankEntry>> {
    actor.require(Permission::ManageBanks)?;
    let state = store::change_entry(&desk.db, bank_id, entry_id, enabled, remove, desk.now())
        .await?
        .ok_or(Error::NotFound("bank entry"))?;
    desk.banks.write().apply(std::slice::from_ref(&state));
    if remove {
        return Ok(None);
    }
    store::entry(&desk.db, bank_id, entry_id).await
}

/// The known-media matches on a case the actor may see.
pub async fn case_matches(desk: &Desk, actor: &Actor, case_id: i64) -> Result<Vec<MediaMatch>> {
    actor.require(Permission::ReadCases)?;
    let case = cases::get_case(&desk.db, case_id)
        .await?
        .ok_or(Error::NotFound("case"))?;
    actor.check_visible(&case)?;
    store::matches_for_case(&desk.db, case_id).await
}

/// A reviewer's verdict on a match; recorded on the case, and counted in the bank's precision.
pub async fn judge(
    desk: &Desk,
    actor: &Actor,
    case_id: i64,
    match_id: i64,
    verdict: MatchVerdict,
) -> Result<MediaMatch> {
    actor.require(Permission::WorkCases)?;
    let now = desk.now();
    let (mut tx, mut case) = lock_visible(desk, actor, case_id).await?;
    store::media_match(&mut tx, case_id, match_id)
        .await?
        .ok_or(Error::NotFound("match"))?;
    store::judge_match(&mut tx, match_id, verdict, actor.user_id, now).await?;
    let event = CaseEvent::MediaMatchJudged { match_id, verdict };
    cases::record(&mut tx, &mut case, vec![event], Who::user(actor), None, now).await?;
    let judged = store::media_match(&mut tx, case_id, match_id)
        .await?
        .ok_or(Error::NotFound("match"))?;
    tx.commit().await?;
    Ok(judged)
}
