use std::collections::HashMap;

use crate::harness::bare_desk;
use warden::domain::case::CaseStatus;
use warden::store::cases::{CaseFilter, list_cases};

#[tokio::test]
async fn the_demo_desk_has_every_kind_of_case() {
    let (desk, _dir) = bare_desk().await;
    let now = desk.now();
    let seeded = warden::demo::seed(&desk, 600, now).await.expect("seed");
    assert_eq!(
        seeded.reports,
        600 + warden::demo::CAMPAIGN_REPORTERS + warden::demo::KNOWN_MEDIA_REPORTS
    );
    // Two banks built from the demo's pictures; the photo the platform hashed itself matches one
    // of them once the media checker has run.
    let banks = warden::store::banks::banks(&desk.db).await.unwrap();
    assert_eq!(banks.len(), 2, "{banks:?}");
    assert!(banks.iter().all(|b| b.entries == 4), "{banks:?}");
    let checker = warden::matching::checks::MediaChecker::new(desk.clone()).unwrap();
    assert!(checker.round().await.unwrap() >= 1);
    let matched: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM media_matches")
        .fetch_one(desk.db.reader())
        .await
        .unwrap();
    assert_eq!(matched, 1, "the platform-hashed copy matches its bank");
    // The campaign planted in the last hour opens the desk with alerts to look at.
    let alerts = warden::store::alerts::list_alerts(&desk.db, &[], false, 100)
        .await
        .unwrap();
    let said: Vec<(&str, &str)> = alerts
        .iter()
        .map(|a| (a.kind.as_str(), a.key.as_str()))
        .collect();
    assert!(
        said.contains(&("emerging_term", "quick-crypto-gains.example")),
        "{said:?}"
    );
    assert!(
        alerts.iter().any(|a| a.kind.as_str() == "mass_reporting"
            && a.explanation
                .contains("reported by 40 people in the last hour")),
        "{said:?}"
    );
    assert!(
        alerts
            .iter()
            .any(|a| a.kind.as_str() == "volume"
                && a.key == "reports on scams.financial from DE (user)"),
        "{said:?}"
    );
    let everyone: Vec<String> = vec!["child_safety".into(), "legal".into()];
    let all = list_cases(
        &desk.db,
        &CaseFilter {
            limit: 10_000,
            ..Default::default()
        },
        &everyone,
    )
    .await
    .unwrap();
    assert!(all.len() > 400, "{} cases", all.len());
    // Intake fed the search index as it went: every report says which channel it came by.
    let docs = warden::store::search::document_counts(&desk.db)
        .await
        .unwrap();
    assert!(
        docs.contains(&("report".into(), seeded.reports as i64))
            && docs
                .iter()
                .any(|(kind, n)| kind == "subject" && *n >= all.len() as i64),
        "{docs:?}"
    );
    let channel = warden::store::search::search(
        &desk.db,
        &warden::domain::search::SearchQuery {
            q: Some("channel".into()),
            ..Default::default()
        },
        &everyone,
    )
    .await
    .unwrap();
    // Every case but the planted campaign's and the known-media photos', whose reporters wrote
    // their own words.
    assert_eq!(
        channel.total,
        all.len() as i64 - 1 - warden::demo::KNOWN_MEDIA_REPORTS as i64
    );
    let mut by_status: HashMap<CaseStatus, usize> = HashMap::new();
    for c in &all {
        *by_status.entry(c.status).or_default() += 1;
    }
    for s in [
        CaseStatus::Triaged,
        CaseStatus::Closed,
        CaseStatus::WaitingConsultation,
        CaseStatus::WaitingInfo,
    ] {
        assert!(
            by_status.get(&s).copied().unwrap_or(0) > 0,
            "no {s} case in {by_status:?}"
        );
    }
    assert!(
        all.iter().any(|c| c.restricted_team.is_some()),
        "no restricted case"
    );
    assert!(
        all.iter()
            .any(|c| c.resolution_breached || c.first_response_breached),
        "no breached case"
    );
    assert!(
        all.iter().any(|c| c.report_count > 1),
        "no case with several reports"
    );
    let priorities: std::collections::BTreeSet<_> = all.iter().map(|c| c.priority).collect();
    assert_eq!(
        priorities.len(),
        5,
        "every priority appears: {priorities:?}"
    );
    let sources: std::collections::BTreeSet<_> = all
        .iter()
        .filter_map(|c| c.triage.as_ref())
        .map(|t| t.top_source.as_str())
        .collect();
    assert!(sources.len() >= 8, "{sources:?}");

    // The event log is the source of truth: every stored case is exactly the fold of its events.
    for stored in &all {
        let events = warden::store::cases::events_for_case(&desk.db, stored.id)
            .await
            .unwrap();
        let rebuilt =
            warden::domain::case::Case::replay(stored.id, events.iter().map(|e| (e.at, &e.event)));
        assert_eq!(
            rebuilt.as_ref(),
            Some(stored),
            "case {} differs from its event log",
            stored.id
        );
    }

    // Past decisions across the policy book yield statements the Transparency Database accepts.
    let dir = std::env::temp_dir().join(format!(
        "warden-demo-statements-{}",
        hex::encode(rand::random::<[u8; 4]>())
    ));
    let since = (now - chrono::Duration::days(30)).date_naive();
    let (statements, batches) = warden::cli::export_statements(&desk, since, Some(&dir))
        .await
        .unwrap();
    assert!(statements >= 100, "{statements} statements");
    assert_eq!(batches, statements.div_ceil(100));
    let mut categories = std::collections::BTreeSet::new();
    let mut grounds = std::collections::BTreeSet::new();
    for n in 1..=batches {
        let text = std::fs::read_to_string(dir.join(format!("statements-{n:04}.json"))).unwrap();
        let batch: transparency::Batch = serde_json::from_str(&text).unwrap();
        batch.validate().unwrap();
        for s in &batch.statements {
            categories.insert(s.category.as_str());
            grounds.insert(s.decision_ground.as_str());
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(categories.len() >= 5, "{categories:?}");
    assert_eq!(
        grounds.len(),
        2,
        "both terms-of-service and illegal-content grounds"
    );
    let decided_policies: i64 = {
        use sqlx::Row;
        sqlx::query("SELECT COUNT(DISTINCT policy_ref) FROM decisions")
            .fetch_one(desk.db.reader())
            .await
            .unwrap()
            .try_get(0)
            .unwrap()
    };
    assert!(
        decided_policies >= 10,
        "{decided_policies} policies applied"
    );
    let outbox = warden::store::enforcement::delivery_counts(&desk.db)
        .await
        .unwrap();
    assert!(
        outbox.iter().any(|(state, n)| state == "pending" && *n > 0),
        "{outbox:?}"
    );
}
