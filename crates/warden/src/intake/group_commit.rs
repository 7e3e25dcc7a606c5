//! Intake in groups (see [`crate::group_commit`]): the reports of requests arriving together are
//! taken in a statement per table, not per report (see [`super::take_in_group`]), in one
//! transaction with one synced commit. A request in a group that is refused (a reused idempotency
//! key) changes nothing and leaves the others untouched.

use super::{IntakeReceipt, Sent, take_in_group};
use crate::access::Actor;
use crate::desk::Desk;
use crate::domain::report::NewReport;
use crate::error::{Error, Result};
use crate::group_commit::{self, Work};
use crate::store::Engine;

/// One intake request: who sent it and its reports, all or none.
pub struct Request {
    pub actor: Actor,
    pub reports: Vec<NewReport>,
}

/// Intake as a kind of group work.
pub struct Intake;

/// The desk's intake committers.
pub type GroupCommit = group_commit::GroupCommit<Intake>;

impl Work for Intake {
    type Request = Request;
    type Answer = Vec<IntakeReceipt>;
    const NAME: &'static str = "intake";
    /// The most reports one group takes in (a single larger batch goes alone).
    const MAX_WEIGHT: usize = 128;

    fn weight(request: &Request) -> usize {
        request.reports.len()
    }

    /// One on SQLite, whose writer is one connection anyway; two on PostgreSQL, where groups can
    /// commit side by side.
    fn committers(engine: Engine) -> usize {
        match engine {
            Engine::Sqlite => 1,
            Engine::Postgres => 2,
        }
    }

    async fn together(desk: &Desk, group: &[&Request]) -> Result<Vec<Result<Vec<IntakeReceipt>>>> {
        commit_together(desk, group).await
    }

    async fn alone(desk: &Desk, request: &Request) -> Result<Vec<IntakeReceipt>> {
        take_in_alone(desk, &request.actor, &request.reports).await
    }
}

/// One transaction for the whole group. A refused request is answered with its error and
/// writes nothing; errors that spoil the transaction (a race, a lost connection) fail the group.
async fn commit_together(
    desk: &Desk,
    group: &[&Request],
) -> Result<Vec<Result<Vec<IntakeReceipt>>>> {
    let sent: Vec<Sent<'_>> = group
        .iter()
        .map(|r| Sent {
            actor: &r.actor,
            reports: &r.reports,
        })
        .collect();
    let mut tx = desk.db.begin().await?;
    let answers = take_in_group(desk, &mut tx, &sent, desk.now()).await?;
    tx.commit().await?;
    Ok(answers)
}

/// The reports of one request in a transaction of their own, run again if it lost a race.
pub(super) async fn take_in_alone(
    desk: &Desk,
    actor: &Actor,
    reports: &[NewReport],
) -> Result<Vec<IntakeReceipt>> {
    crate::retrying!({
        let mut tx = desk.db.begin().await?;
        let sent = [Sent { actor, reports }];
        let answer = take_in_group(desk, &mut tx, &sent, desk.now())
            .await?
            .pop()
            .ok_or_else(|| Error::Internal("intake answered no request".into()))?;
        // A refused request wrote nothing; its transaction is simply dropped.
        let receipts = answer?;
        tx.commit().await?;
        Ok(receipts)
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::access::Role;
    use crate::access::identity::{UserInput, create_user};
    use crate::config::Config;
    use crate::intake::IntakeOutcome;
    use crate::store::ScratchDb;
    use crate::store::cases::Who;

    /// A desk on a SQLite file of its own, with one integration.
    async fn desk() -> (Desk, Actor, ScratchDb) {
        let scratch = ScratchDb::new(2).await;
        let desk = Desk::new(scratch.db.clone(), Config::default());
        let platform = platform(&desk).await;
        (desk, platform, scratch)
    }

    /// The platform's integration user on a desk.
    pub(crate) async fn platform(desk: &Desk) -> Actor {
        create_user(
            desk,
            Who::SYSTEM,
            UserInput {
                username: "platform".into(),
                display_name: None,
                role: Role::Integration,
                teams: vec![],
                password: None,
            },
        )
        .await
        .unwrap()
        .actor()
    }

    fn report(post: &str, key: &str, text: &str) -> NewReport {
        serde_json::from_value(serde_json::json!({
            "subject": {"kind": "post", "external_id": post, "snapshot": {"text": "Send coins here"}},
            "source": "user",
            "reporter": {"id": "u-1"},
            "reason": "scams.financial",
            "text": text,
            "idempotency_key": key
        }))
        .unwrap()
    }

    fn request(actor: &Actor, reports: Vec<NewReport>) -> Request {
        Request {
            actor: actor.clone(),
            reports,
        }
    }

    fn refs(group: &[Request]) -> Vec<&Request> {
        group.iter().collect()
    }

    async fn count(desk: &Desk, sql: &str) -> i64 {
        use sqlx::Row;
        sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
            .fetch_one(desk.db.reader())
            .await
            .unwrap()
            .get(0)
    }

    #[tokio::test]
    async fn a_refused_request_changes_nothing_and_the_rest_of_its_group_is_taken_in() {
        let (desk, platform, scratch) = desk().await;
        let first = take_in_alone(&desk, &platform, &[report("p-1", "k-1", "scam")])
            .await
            .unwrap();

        let group = [
            request(&platform, vec![report("p-2", "k-2", "scam")]),
            // The same key for a different report, in a batch with a report of its own.
            request(
                &platform,
                vec![report("p-3", "k-3", "scam"), report("p-4", "k-1", "other")],
            ),
            request(&platform, vec![report("p-2", "k-4", "scam again")]),
            // A retry of a request earlier in the same group.
            request(&platform, vec![report("p-2", "k-2", "scam")]),
        ];
        let answers = commit_together(&desk, &refs(&group)).await.unwrap();
        assert_eq!(answers.len(), 4);

        let opened = answers[0].as_ref().unwrap()[0].clone();
        assert_eq!(opened.outcome, IntakeOutcome::Opened);
        match &answers[1] {
            Err(Error::Invalid(errors)) => assert_eq!(errors[0].field, "idempotency_key"),
            other => panic!("the reused key is refused: {other:?}"),
        }
        let joined = &answers[2].as_ref().unwrap()[0];
        assert_eq!(joined.outcome, IntakeOutcome::Joined);
        assert_eq!(joined.case_id, opened.case_id);
        let replay = &answers[3].as_ref().unwrap()[0];
        assert!(replay.replayed);
        assert_eq!(replay.report_id, opened.report_id);

        // The refused batch left nothing behind, not even its valid first report.
        assert_eq!(count(&desk, "SELECT COUNT(*) FROM reports").await, 3);
        assert_eq!(
            count(
                &desk,
                "SELECT COUNT(*) FROM cases WHERE external_id IN ('p-3', 'p-4')"
            )
            .await,
            0
        );
        assert_eq!(count(&desk, "SELECT COUNT(*) FROM cases").await, 2);
        assert_ne!(first[0].case_id, opened.case_id);
        // One acknowledgement per stored report.
        assert_eq!(count(&desk, "SELECT COUNT(*) FROM outbox").await, 3);
        scratch.remove().await;
    }

    #[tokio::test]
    async fn a_group_is_taken_in_as_if_its_requests_came_one_by_one() {
        let (desk, platform, scratch) = desk().await;
        let group = [
            request(&platform, vec![report("p-1", "k-1", "scam")]),
            // A batch that opens a case and joins the one opened just before it.
            request(
                &platform,
                vec![report("p-2", "k-2", "scam"), report("p-1", "k-3", "again")],
            ),
            // The same key twice in one batch: the second is a replay of the first.
            request(
                &platform,
                vec![report("p-3", "k-5", "scam"), report("p-3", "k-5", "scam")],
            ),
        ];
        let answers: Vec<_> = commit_together(&desk, &refs(&group))
            .await
            .unwrap()
            .into_iter()
            .map(|a| a.unwrap())
            .collect();
        assert_eq!(answers[0][0].outcome, IntakeOutcome::Opened);
        assert_eq!(answers[1][0].outcome, IntakeOutcome::Opened);
        assert_eq!(answers[1][1].outcome, IntakeOutcome::Joined);
        assert_eq!(answers[1][1].case_id, answers[0][0].case_id);
        assert!(answers[2][1].replayed);
        assert_eq!(answers[2][1].report_id, answers[2][0].report_id);
        assert_eq!(count(&desk, "SELECT COUNT(*) FROM reports").await, 4);
        assert_eq!(count(&desk, "SELECT COUNT(*) FROM cases").await, 3);

        // The case of p-1 holds both reports, one event sequence without gaps, and one
        // acknowledgement per report.
        let case = answers[0][0].case_id;
        let events = count(
            &desk,
            &format!("SELECT COUNT(*) FROM events WHERE case_id = {case}"),
        )
        .await;
        let distinct = count(
            &desk,
            &format!("SELECT COUNT(DISTINCT seq) FROM events WHERE case_id = {case} AND seq BETWEEN 1 AND {events}"),
        )
        .await;
        assert!(events > 2);
        assert_eq!(distinct, events);
        let stored = crate::store::cases::get_case(&desk.db, case)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.report_count, 2);
        assert_eq!(stored.version, events);
        assert_eq!(
            count(
                &desk,
                &format!("SELECT COUNT(*) FROM messages WHERE case_id = {case}")
            )
            .await,
            2
        );
        assert_eq!(
            count(
                &desk,
                &format!("SELECT COUNT(*) FROM search_docs WHERE case_id = {case}")
            )
            .await,
            3
        );

        // A replay of the whole group, a day later on a fresh group: the same answers, marked
        // as replays, and nothing new written.
        let again = commit_together(&desk, &refs(&group)).await.unwrap();
        for (first, replay) in answers.iter().zip(&again) {
            for (a, b) in first.iter().zip(replay.as_ref().unwrap()) {
                assert_eq!(a.report_id, b.report_id);
                assert!(b.replayed);
            }
        }
        assert_eq!(count(&desk, "SELECT COUNT(*) FROM reports").await, 4);
        assert_eq!(count(&desk, "SELECT COUNT(*) FROM outbox").await, 4);
        scratch.remove().await;
    }

    #[tokio::test]
    async fn requests_sent_together_are_each_answered() {
        let (desk, platform, scratch) = desk().await;
        let sent: Vec<_> = (0..64)
            .map(|i| {
                let (desk, platform) = (desk.clone(), platform.clone());
                tokio::spawn(async move {
                    let post = format!("p-{}", i % 8);
                    let key = format!("k-{i}");
                    desk.intake
                        .run(&desk, request(&platform, vec![report(&post, &key, "scam")]))
                        .await
                })
            })
            .collect();
        let mut reports = std::collections::BTreeSet::new();
        for s in sent {
            let receipt = s.await.unwrap().unwrap();
            assert!(reports.insert(receipt[0].report_id));
        }
        assert_eq!(count(&desk, "SELECT COUNT(*) FROM reports").await, 64);
        assert_eq!(count(&desk, "SELECT COUNT(*) FROM cases").await, 8);
        scratch.remove().await;
    }
}
