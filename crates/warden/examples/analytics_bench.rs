//! The analytics benchmark: seeds a desk with REPORTS reports over 90 days and times what analysts
//! and the alert scan do with them.
//!
//!   cargo run --release --example analytics_bench -- DATABASE_URL [REPORTS]
//!
//! REPORTS defaults to ten million; there are 0.8 cases per report (a fifth of reports join a
//! case already open). The rows are made by the database itself (a series of numbers turned into
//! cases and reports with a spread of policies, regions, sources, priorities and reporters, opened
//! evenly over the 90 days, most closed within hours), so they carry what the analytics read and
//! nothing else: the cases' event logs are not written, so case pages do not open on this desk.
//! A database that already holds cases is measured as it is.
//!
//! Measured, each three times (the median is printed): the hourly report volume by policy ×
//! region over the last 30 days (as the alert scan reads it, and as an analyst's SQL over the
//! views), one alert scan (every detector over every series), and the dashboard for the last 7
//! and 30 days broken down by queue and by policy.

use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use sqlx::{AssertSqlSafe, Executor, Row};
use warden::analytics::kpis::{Bucket, Dimension, KpiQuery, dashboard_for};
use warden::clock::ManualClock;
use warden::config::Config;
use warden::desk::Desk;
use warden::store::{Db, Engine};

const POLICIES: &[(&str, &str)] = &[
    ("spam", "general"),
    ("scams.financial", "ads_fraud"),
    ("harassment.bullying", "general"),
    ("hate_speech", "violence"),
    ("ip.copyright", "ip"),
    ("ads.misleading", "ads_fraud"),
    ("elections.misinformation", "integrity"),
    ("violence.credible_threat", "violence"),
    ("privacy.non_consensual_imagery", "general"),
    ("self_harm.suicide", "violence"),
    ("counterfeit", "ip"),
    ("terrorism.praise", "violence"),
];
const REGIONS: &[&str] = &[
    "DE", "FR", "GB", "ES", "IT", "PL", "NL", "SE", "AT", "BE", "IE", "PT", "US", "BR", "MX", "IN",
    "TR", "NG", "JP", "AU",
];
const SOURCES: &[&str] = &[
    "user",
    "user",
    "user",
    "user",
    "user",
    "user",
    "trusted_flagger",
    "regulator",
    "automated",
    "partner",
];
const TEXTS: &[&str] = &[
    "this account keeps posting spam about crypto wallets",
    "they are selling fake watches, counterfeit goods",
    "threatening messages sent to me every day",
    "this ad promises guaranteed returns, looks like a scam",
    "false claims about polling stations closing early",
    "my photos posted without consent",
    "copyrighted film uploaded in full",
    "hateful slurs in the comments",
];

/// Primes, one per attribute of a seeded row.
const MULTIPLIERS: [i64; 13] = [
    2_654_435_761,
    2_246_822_519,
    3_266_489_917,
    668_265_263,
    374_761_393,
    2_870_177_450_012_600_261 % 4_294_967_291,
    1_103_515_245,
    1_664_525,
    22_695_477,
    134_775_813,
    1_140_671_485,
    214_013,
    69_069,
];

/// `CASE (expr) % n WHEN 0 THEN 'a' … END`: the k-th of `values` for a row.
fn pick(expr: &str, values: &[&str]) -> String {
    let mut sql = format!("CASE ({expr}) % {} ", values.len());
    for (k, v) in values.iter().enumerate() {
        sql.push_str(&format!("WHEN {k} THEN '{}' ", v.replace('\'', "''")));
    }
    sql.push_str("END");
    sql
}

/// Rows 1..=n of a number series, as the engine writes one.
fn series(engine: Engine, n: i64) -> String {
    match engine {
        Engine::Sqlite => format!(
            "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {n}) SELECT i FROM s"
        ),
        Engine::Postgres => format!("SELECT i FROM generate_series(1::bigint, {n}) AS g(i)"),
    }
}

async fn seed(db: &Db, reports: i64, end: DateTime<Utc>) {
    let cases = reports * 4 / 5;
    let span = TimeDelta::days(90).num_milliseconds();
    let start = end.timestamp_millis() - span;
    let started = Instant::now();
    // A spread that looks random but is the same on every run and engine: a different multiplier
    // per attribute, so that policy, region, source and the rest vary independently.
    let h = |salt: usize| {
        format!(
            "((i * {}) % 1000003)",
            MULTIPLIERS[salt % MULTIPLIERS.len()]
        )
    };
    let hm = |salt: usize, n: i64| format!("({} % {n})", h(salt));
    let policy = pick(&h(1), &POLICIES.iter().map(|p| p.0).collect::<Vec<_>>());
    let queue = pick(&h(1), &POLICIES.iter().map(|p| p.1).collect::<Vec<_>>());
    let region = pick(&h(2), REGIONS);
    let language = pick(
        &h(2),
        &REGIONS
            .iter()
            .map(|r| r.to_lowercase())
            .collect::<Vec<_>>()
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    let opened = format!("({start} + (i - 1) * {span} / {cases})");
    // Answered 5 minutes to 5 hours after opening; closed 1 to 21 hours after; the last two days'
    // cases and one in twenty of the rest still open.
    let responded = format!("({opened} + 300000 + {} * 1000)", hm(3, 18000));
    let closed_at = format!("({opened} + 3600000 + {} * 1000)", hm(4, 72000));
    let open_now = format!(
        "({opened} > {} OR {} = 0)",
        end.timestamp_millis() - 2 * 86_400_000,
        hm(5, 20)
    );
    let insert_cases = format!(
        "INSERT INTO cases (id, subject_kind, external_id, author_id, status, priority, queue, \
           assignee_id, lease_expires_at, restricted_team, policy_area, region, language, \
           first_response_due, first_response_at_risk, first_responded_at, resolution_due, \
           resolution_at_risk, sla_paused, first_response_breached, resolution_breached, \
           opened_at, updated_at, closed_at, report_count, version, state) \
         SELECT i, 'post', 'bench-' || CAST(i AS TEXT), 'acct-' || CAST(i % 50000 AS TEXT), \
           CASE WHEN {open_now} THEN 'triaged' ELSE 'closed' END, {pri}, {queue}, NULL, NULL, NULL, \
           {policy}, {region}, {language}, {opened} + 14400000, {opened} + 10800000, \
           CASE WHEN {open_now} AND {h6} < 3 THEN NULL ELSE {responded} END, {opened} + 86400000, \
           {opened} + 64800000, 0, CASE WHEN {h7} = 0 THEN 1 ELSE 0 END, CASE WHEN {h8} = 0 THEN 1 ELSE 0 END, \
           {opened}, {opened}, CASE WHEN {open_now} THEN NULL ELSE {closed_at} END, 1, 1, '{{}}' \
         FROM ({series}) AS seq",
        pri = hm(9, 5),
        h6 = hm(6, 10),
        h7 = hm(7, 12),
        h8 = hm(8, 15),
        series = series(db.engine, cases),
    );
    let case_of = format!("((i - 1) * {cases} / {reports} + 1)");
    let received = format!("({start} + (i - 1) * {span} / {reports})");
    let body = pick(
        &h(10),
        &TEXTS
            .iter()
            .map(|t| format!("{{\"text\":\"{t}\"}}"))
            .collect::<Vec<_>>()
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    let insert_reports = format!(
        "INSERT INTO reports (case_id, submitted_by, idempotency_key, request_hash, source, \
           reporter_id, policy_area, jurisdiction, received_at, body) \
         SELECT {case_of}, 1, 'bench-' || CAST(i AS TEXT), '', {source}, \
           'reporter-' || CAST({reporter} AS TEXT), {policy_of_case}, NULL, {received}, {body} \
         FROM ({series}) AS seq",
        source = pick(&h(11), SOURCES),
        reporter = hm(12, 3000000),
        policy_of_case = pick(
            &format!("(({case_of}) * {}) % 1000003", MULTIPLIERS[1]),
            &POLICIES.iter().map(|p| p.0).collect::<Vec<_>>()
        ),
        series = series(db.engine, reports),
    );
    let mut conn = db.begin().await.expect("transaction");
    conn.execute(AssertSqlSafe(insert_cases))
        .await
        .expect("cases");
    println!(
        "seeded {cases} cases in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    conn.execute(AssertSqlSafe(insert_reports))
        .await
        .expect("reports");
    conn.commit().await.expect("commit");
    println!(
        "seeded {reports} reports in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    let analyze = match db.engine {
        Engine::Sqlite => "ANALYZE",
        Engine::Postgres => "VACUUM ANALYZE",
    };
    sqlx::query(analyze)
        .execute(db.reader())
        .await
        .expect("analyze");
    println!("ready in {:.0} s", started.elapsed().as_secs_f64());
}

async fn timed<T, F: std::future::Future<Output = T>>(what: &str, run: impl Fn() -> F) -> T {
    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..3 {
        let t = Instant::now();
        last = Some(run().await);
        times.push(t.elapsed());
    }
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{what}: median {:.0} ms (min {:.0}, max {:.0})",
        ms(times[1]),
        ms(times[0]),
        ms(times[2])
    );
    last.expect("ran")
}

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).map(str::to_string))
        })
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(url) = args.get(1) else {
        eprintln!("usage: analytics_bench DATABASE_URL [REPORTS]");
        std::process::exit(2);
    };
    let reports: i64 = args
        .get(2)
        .map_or(10_000_000, |n| n.parse().expect("REPORTS is a number"));
    let db = Db::connect(url, 4).await.expect("database");
    db.migrate().await.expect("migrations");
    let have: i64 = sqlx::query("SELECT COUNT(*) FROM cases")
        .fetch_one(db.reader())
        .await
        .expect("count")
        .get(0);
    // The data ends at the start of this hour, a fixed instant so every run sees the same desk.
    let end: DateTime<Utc> = "2026-11-30T12:00:00Z".parse().expect("end");
    if have == 0 {
        seed(&db, reports, end).await;
    }
    let counted: i64 = sqlx::query("SELECT COUNT(*) FROM reports")
        .fetch_one(db.reader())
        .await
        .expect("count")
        .get(0);
    println!("{:?}: {counted} reports", db.engine);

    let mut config = Config::default();
    config.analytics.max_rows = 500_000;
    config.analytics.statement_timeout_secs = 600;
    let desk = Desk::new(db.clone(), config).with_clock(std::sync::Arc::new(ManualClock::new(
        end + TimeDelta::minutes(5),
    )));

    let since = end - TimeDelta::days(30);
    let rows = timed(
        "hourly volume by policy x region x source, 30 days (alert scan's read)",
        || warden::store::alerts::volume_counts(&desk.db, since, end),
    )
    .await
    .expect("volume");
    println!("  {} rows", rows.len());
    let sql = format!(
        "SELECT substr(r.received_at, 1, 13) AS hour, r.policy_area, c.region, count(*) AS reports \
         FROM reports r JOIN cases c ON c.case_id = r.case_id \
         WHERE r.received_at >= '{}' GROUP BY 1, 2, 3",
        since.format("%Y-%m-%dT%H:%M:%S%.3fZ")
    );
    let table = timed(
        "hourly volume by policy x region, 30 days (analyst's SQL over the views)",
        || warden::analytics::run_as_operator(&desk, &sql),
    )
    .await
    .expect("sql");
    println!("  {} rows", table.rows.len());

    let scan = timed("alert scan: every detector over every series", || {
        warden::alerts::scan(&desk)
    })
    .await
    .expect("scan");
    println!("  {scan:?}");

    for (days, by) in [(7, Dimension::Queue), (30, Dimension::Policy)] {
        let q = KpiQuery::new(end - TimeDelta::days(days), end, Bucket::Day, Some(by), end);
        let d = timed(
            &format!("dashboard, {days} days by {}", by.as_str()),
            || dashboard_for(&desk, &[], &q),
        )
        .await
        .expect("dashboard");
        println!(
            "  {} opened, {} closed, {} open, {} groups",
            d.totals.intake,
            d.totals.closures,
            d.totals.backlog,
            d.groups.len()
        );
    }
    println!("peak memory of this process: {:.0} MB", peak_rss_mb());
}
