//! The policy registry: versioned policy documents, imported from policy books and added by API.
//! Versions are only ever added; a decision names the version it applied.

use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeSet;
use utoipa::ToSchema;

use crate::access::{Actor, Permission};
use crate::desk::Desk;
use crate::domain::policy::{Policy, PolicyBook};
use crate::domain::validate::Checker;
use crate::error::{Error, Result};
use crate::store::cases::{Who, record_audit};
use crate::store::enforcement::{self as store, PolicyRecord};

fn known_areas(desk: &Desk) -> BTreeSet<String> {
    desk.config
        .policy_areas
        .iter()
        .map(|a| a.id.clone())
        .collect()
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ImportSummary {
    /// Versions added.
    pub added: Vec<String>,
    /// Versions already in the registry with the same content.
    pub unchanged: Vec<String>,
}

/// Imports a policy book: all of it or nothing. A version already present must be identical;
/// changing a text needs a new version.
pub async fn import(desk: &Desk, who: Who<'_>, book: &PolicyBook) -> Result<ImportSummary> {
    book.check(&known_areas(desk))?;
    let existing = store::all_policies(&desk.db).await?;
    let now = desk.now();
    let mut summary = ImportSummary {
        added: Vec::new(),
        unchanged: Vec::new(),
    };
    let mut c = Checker::new();
    let mut tx = desk.db.begin().await?;
    for (i, p) in book.policies.iter().enumerate() {
        let reference = p.reference().to_string();
        match existing
            .iter()
            .find(|r| r.policy.id == p.id && r.policy.version == p.version)
        {
            Some(r) if r.policy == *p => summary.unchanged.push(reference),
            Some(_) => c.fail(
                &format!("policies[{i}].version"),
                format!(
                    "{reference} exists with a different content; give the change a new version"
                ),
            ),
            None => {
                if let Some(later) = existing.iter().find(|r| {
                    r.policy.id == p.id
                        && r.policy.version > p.version
                        && r.policy.effective < p.effective
                }) {
                    c.fail(
                        &format!("policies[{i}].effective"),
                        format!(
                            "{reference} would take effect after {}@{}",
                            later.policy.id, later.policy.version
                        ),
                    );
                    continue;
                }
                store::insert_policy(&mut tx, p, who.id, now).await?;
                summary.added.push(reference);
            }
        }
    }
    c.finish()?;
    if !summary.added.is_empty() {
        record_audit(
            &mut tx,
            "policy",
            "policies_imported",
            who,
            &serde_json::json!({ "added": summary.added }),
            now,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(summary)
}

/// Adds the next version of a policy (or its first).
pub async fn add_version(desk: &Desk, actor: &Actor, policy: &Policy) -> Result<PolicyRecord> {
    actor.require(Permission::ManagePolicies)?;
    let mut c = Checker::new();
    policy.check(&mut c, &known_areas(desk));
    c.finish()?;
    let versions = store::policy_versions(&desk.db, &policy.id).await?;
    let latest = versions.last().map(|r| &r.policy);
    let expected = latest.map_or(1, |p| p.version + 1);
    let mut c = Checker::new();
    if policy.version != expected {
        c.fail(
            "version",
            format!("the next version of {} is {expected}", policy.id),
        );
    }
    if let Some(l) = latest
        && policy.effective < l.effective
    {
        c.fail(
            "effective",
            format!(
                "must be no earlier than version {} ({})",
                l.version, l.effective
            ),
        );
    }
    c.finish()?;
    let now = desk.now();
    let mut tx = desk.db.begin().await?;
    store::insert_policy(&mut tx, policy, Some(actor.user_id), now).await?;
    record_audit(
        &mut tx,
        "policy",
        "policy_version_added",
        Who::user(actor),
        &serde_json::json!({ "policy": policy.reference().to_string() }),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(PolicyRecord {
        policy: policy.clone(),
        recorded_at: now,
    })
}

/// The registry: the version in effect today of every policy, plus versions not yet in effect.
pub async fn current(desk: &Desk, actor: &Actor) -> Result<Vec<PolicyRecord>> {
    actor.require(Permission::ReadPolicies)?;
    let today = desk.now().date_naive();
    let all = store::all_policies(&desk.db).await?;
    let mut out: Vec<PolicyRecord> = Vec::new();
    for r in all {
        let id = r.policy.id.clone();
        if r.policy.effective > today {
            out.push(r);
            continue;
        }
        // Versions come in order, so a later one in effect replaces an earlier one.
        out.retain(|o| !(o.policy.id == id && o.policy.effective <= today));
        out.push(r);
    }
    Ok(out)
}

pub async fn versions(desk: &Desk, actor: &Actor, id: &str) -> Result<Vec<PolicyRecord>> {
    actor.require(Permission::ReadPolicies)?;
    let v = store::policy_versions(&desk.db, id).await?;
    if v.is_empty() {
        return Err(Error::NotFound("policy"));
    }
    Ok(v)
}

/// The whole registry as a policy book.
pub async fn export(desk: &Desk) -> Result<PolicyBook> {
    Ok(PolicyBook {
        policies: store::all_policies(&desk.db)
            .await?
            .into_iter()
            .map(|r| r.policy)
            .collect(),
    })
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PolicyChanges {
    /// When this person last marked the registry as read; `None` if never.
    pub last_seen: Option<DateTime<Utc>>,
    /// Versions added since.
    pub changed: Vec<PolicyRecord>,
}

/// What changed since the person last looked.
pub async fn changes(desk: &Desk, actor: &Actor) -> Result<PolicyChanges> {
    actor.require(Permission::ReadPolicies)?;
    let last_seen = store::policies_last_seen(&desk.db, actor.user_id).await?;
    let since = last_seen.unwrap_or(DateTime::<Utc>::MIN_UTC);
    Ok(PolicyChanges {
        last_seen,
        changed: store::policies_recorded_since(&desk.db, since).await?,
    })
}

/// Marks everything up to now as read.
pub async fn mark_seen(desk: &Desk, actor: &Actor) -> Result<DateTime<Utc>> {
    actor.require(Permission::ReadPolicies)?;
    let now = desk.now();
    let mut tx = desk.db.begin().await?;
    store::mark_policies_seen(&mut tx, actor.user_id, now).await?;
    tx.commit().await?;
    Ok(now)
}
