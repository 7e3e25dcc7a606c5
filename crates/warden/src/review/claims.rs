//! Claims in groups (see [`crate::group_commit`]): reviewers asking for their next case at the
//! same time are served in one transaction with one synced commit. Claimers of one queue who may
//! see the same cases draw from one list of the most urgent ones, in the order they asked, so a
//! group hands out exactly what one claim after another would have.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};

use crate::access::Actor;
use crate::desk::Desk;
use crate::domain::case::Case;
use crate::error::Result;
use crate::group_commit::{self, Work};
use crate::store::Engine;
use crate::store::cases::{self, EVENTS, Who};
use crate::store::rows::{self, Rows};

/// Someone asking for the next case of a queue.
pub struct ClaimRequest {
    pub actor: Actor,
    pub queue: String,
}

/// Claims as a kind of group work.
pub struct Claims;

/// The desk's claim committers.
pub type ClaimCommit = group_commit::GroupCommit<Claims>;

/// Cases looked up beyond one per claimer, for claimers who may not take some of them (an
/// appeal of their own decision).
const SPARE_CANDIDATES: usize = 4;

impl Work for Claims {
    type Request = ClaimRequest;
    type Answer = Option<Case>;
    const NAME: &'static str = "claims";
    const MAX_WEIGHT: usize = 64;

    fn weight(_: &ClaimRequest) -> usize {
        1
    }

    fn committers(engine: Engine) -> usize {
        match engine {
            Engine::Sqlite => 1,
            Engine::Postgres => 2,
        }
    }

    async fn together(desk: &Desk, group: &[&ClaimRequest]) -> Result<Vec<Result<Option<Case>>>> {
        claim_together(desk, group).await
    }

    async fn alone(desk: &Desk, request: &ClaimRequest) -> Result<Option<Case>> {
        claim_alone(desk, &request.actor, &request.queue).await
    }
}

/// Hands candidates (most urgent first) to claimers in the order they asked: each gets the first
/// candidate not yet handed out that they may claim, or none.
pub fn hand_out(
    candidates: &[Case],
    claimers: &[i64],
    now: DateTime<Utc>,
    lease: Duration,
) -> Vec<Option<usize>> {
    let mut taken = vec![false; candidates.len()];
    claimers
        .iter()
        .map(|&user| {
            let pick = (0..candidates.len())
                .find(|&c| !taken[c] && candidates[c].claim(user, now, lease).is_ok());
            if let Some(c) = pick {
                taken[c] = true;
            }
            pick
        })
        .collect()
}

/// One claim in a transaction of its own, run again if it lost a race.
pub(super) async fn claim_alone(desk: &Desk, actor: &Actor, queue: &str) -> Result<Option<Case>> {
    crate::retrying!({
        let now = desk.now();
        let mut tx = desk.db.begin().await?;
        let next = cases::lock_claimable(
            &desk.db,
            &mut tx,
            queue,
            &actor.teams,
            Some(actor.user_id),
            now,
            1,
        )
        .await?;
        let Some(mut case) = next.into_iter().next() else {
            return Ok(None);
        };
        let events = case.claim(actor.user_id, now, desk.config.lease())?;
        cases::record(&mut tx, &mut case, events, Who::user(actor), None, now).await?;
        tx.commit().await?;
        Ok(Some(case))
    })
}

/// The whole group in one transaction: the candidates of each queue and visibility in one
/// lookup, every claim's events in one statement and every claimed case in another. A claimer
/// left without a case while the queue still had some (all that was left were appeals of their
/// own) is served alone afterwards.
async fn claim_together(desk: &Desk, group: &[&ClaimRequest]) -> Result<Vec<Result<Option<Case>>>> {
    let now = desk.now();
    let lease = desk.config.lease();
    let mut pools: BTreeMap<(&str, &[String]), Vec<usize>> = BTreeMap::new();
    for (i, request) in group.iter().enumerate() {
        pools
            .entry((request.queue.as_str(), request.actor.teams.as_slice()))
            .or_default()
            .push(i);
    }
    let mut answers: Vec<Option<Option<Case>>> = vec![None; group.len()];
    let mut case_rows = Vec::new();
    let mut event_rows = Vec::new();
    let mut tx = desk.db.begin().await?;
    for ((queue, teams), members) in pools {
        let wanted = members.len() + SPARE_CANDIDATES;
        let candidates =
            cases::lock_claimable(&desk.db, &mut tx, queue, teams, None, now, wanted).await?;
        let claimers: Vec<i64> = members.iter().map(|&i| group[i].actor.user_id).collect();
        let ran_out = candidates.len() < wanted;
        for (&i, pick) in members
            .iter()
            .zip(hand_out(&candidates, &claimers, now, lease))
        {
            let actor = &group[i].actor;
            match pick {
                Some(c) => {
                    let mut case = candidates[c].clone();
                    let events = case.claim(actor.user_id, now, lease)?;
                    cases::apply_events(
                        &mut case,
                        events,
                        Who::user(actor),
                        None,
                        now,
                        &mut event_rows,
                    )?;
                    case_rows.push(cases::case_row(&case, now)?);
                    answers[i] = Some(Some(case));
                }
                // Every case this claimer could see was looked at: there is none for them.
                None if ran_out => answers[i] = Some(None),
                None => {}
            }
        }
    }
    rows::write_all(
        &mut tx,
        vec![
            cases::cases_saved(case_rows),
            Rows::new(&EVENTS, event_rows),
        ],
    )
    .await?;
    tx.commit().await?;
    let mut out = Vec::with_capacity(group.len());
    for (request, answer) in group.iter().zip(answers) {
        out.push(match answer {
            Some(answer) => Ok(answer),
            None => claim_alone(desk, &request.actor, &request.queue).await,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::case::CaseStatus;
    use chrono::TimeZone;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 30, 14, 0, 0).unwrap()
    }

    fn waiting(id: i64, excluded: Option<i64>, now: DateTime<Utc>) -> Case {
        let mut case = Case::empty(id, now);
        case.status = CaseStatus::Triaged;
        case.excluded_reviewer = excluded;
        case
    }

    #[test]
    fn claimers_take_the_most_urgent_cases_in_the_order_they_asked() {
        let now = t0();
        let lease = Duration::minutes(30);
        let candidates = [waiting(1, None, now), waiting(2, None, now)];
        assert_eq!(
            hand_out(&candidates, &[7, 8, 9], now, lease),
            vec![Some(0), Some(1), None]
        );
    }

    #[test]
    fn an_appeal_is_passed_over_for_the_reviewer_whose_decision_it_questions() {
        let now = t0();
        let lease = Duration::minutes(30);
        // The most urgent case is an appeal of reviewer 7's decision.
        let candidates = [waiting(1, Some(7), now), waiting(2, None, now)];
        assert_eq!(
            hand_out(&candidates, &[7, 8], now, lease),
            vec![Some(1), Some(0)]
        );
        assert_eq!(hand_out(&candidates[..1], &[7], now, lease), vec![None]);
    }

    #[test]
    fn a_case_no_longer_waiting_is_handed_to_nobody() {
        let now = t0();
        let lease = Duration::minutes(30);
        let mut held = waiting(1, None, now);
        held.status = CaseStatus::InReview;
        held.assignee = Some(5);
        held.lease_expires_at = Some(now + Duration::minutes(5));
        assert_eq!(hand_out(&[held], &[7], now, lease), vec![None]);
    }
}

#[cfg(test)]
mod on_a_database {
    use super::*;
    use crate::access::Role;
    use crate::access::identity::{UserInput, create_user};
    use crate::config::Config;
    use crate::domain::case::CaseStatus;
    use crate::domain::report::NewReport;
    use crate::store::ScratchDb;
    use std::collections::BTreeSet;

    async fn user(desk: &Desk, name: &str, role: Role) -> Actor {
        create_user(
            desk,
            Who::SYSTEM,
            UserInput {
                username: name.into(),
                display_name: None,
                role,
                teams: vec![],
                password: (role != Role::Integration).then(|| "a-long-password-1".into()),
            },
        )
        .await
        .unwrap()
        .actor()
    }

    fn report(post: &str) -> NewReport {
        serde_json::from_value(serde_json::json!({
            "subject": {"kind": "post", "external_id": post, "snapshot": {"text": "Send coins here"}},
            "source": "user",
            "reporter": {"id": "u-1"},
            "reason": "scams.financial",
            "idempotency_key": post
        }))
        .unwrap()
    }

    #[tokio::test]
    async fn a_group_hands_out_each_waiting_case_once_and_tells_the_rest_there_is_none() {
        let scratch = ScratchDb::new(2).await;
        let desk = Desk::new(scratch.db.clone(), Config::default());
        let platform = user(&desk, "platform", Role::Integration).await;
        let mut queue = String::new();
        for i in 0..3 {
            let receipt = crate::intake::submit(&desk, &platform, report(&format!("p-{i}")))
                .await
                .unwrap();
            let case = cases::get_case(&desk.db, receipt.case_id)
                .await
                .unwrap()
                .unwrap();
            queue = case.queue;
        }
        let mut requests = Vec::new();
        for i in 0..5 {
            let actor = user(&desk, &format!("spec-{i}"), Role::Specialist).await;
            requests.push(ClaimRequest {
                actor,
                queue: queue.clone(),
            });
        }
        let group: Vec<&ClaimRequest> = requests.iter().collect();
        let answers: Vec<Option<Case>> = claim_together(&desk, &group)
            .await
            .unwrap()
            .into_iter()
            .map(|a| a.unwrap())
            .collect();

        // The first three in the group get the three cases, one each; the last two hear there is
        // nothing left.
        let claimed: Vec<&Case> = answers.iter().flatten().collect();
        assert_eq!(claimed.len(), 3);
        assert!(answers[3].is_none() && answers[4].is_none());
        let ids: BTreeSet<i64> = claimed.iter().map(|c| c.id).collect();
        assert_eq!(ids.len(), 3);
        for (request, answer) in requests.iter().zip(&answers).take(3) {
            let answered = answer.as_ref().unwrap();
            let stored = cases::get_case(&desk.db, answered.id)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(stored.status, CaseStatus::InReview);
            assert_eq!(stored.assignee, Some(request.actor.user_id));
            assert_eq!(stored.version, answered.version);
        }
        let claimed_events: i64 = sqlx::Row::get(
            &sqlx::query("SELECT COUNT(*) FROM events WHERE kind = 'claimed'")
                .fetch_one(desk.db.reader())
                .await
                .unwrap(),
            0,
        );
        assert_eq!(claimed_events, 3);
        scratch.remove().await;
    }
}
