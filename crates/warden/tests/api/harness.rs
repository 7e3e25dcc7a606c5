use chrono::{DateTime, TimeZone, Utc};
use reqwest::{Client, Method, Response, StatusCode};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::oneshot;

use warden::access::Role;
use warden::access::identity::{UserInput, create_token, create_user};
use warden::clock::ManualClock;
use warden::config::Config;
use warden::desk::Desk;
use warden::store::Db;
use warden::store::cases::Who;

pub struct TestDesk {
    pub base: String,
    pub client: Client,
    pub desk: Desk,
    pub clock: ManualClock,
    pub tokens: HashMap<&'static str, String>,
    pub user_ids: HashMap<&'static str, i64>,
    _shutdown: oneshot::Sender<()>,
    _dir: Option<TempDir>,
}

/// A temporary directory removed on drop.
pub struct TempDir(pub std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, 4, 9, 0, 0).unwrap()
}

/// The people every test can act as: (name, role, teams).
pub const PEOPLE: &[(&str, Role, &[&str])] = &[
    ("admin", Role::Admin, &[]),
    ("lead", Role::Lead, &[]),
    ("lead2", Role::Lead, &[]),
    ("cs_lead", Role::Lead, &["child_safety"]),
    ("spec", Role::Specialist, &[]),
    ("spec2", Role::Specialist, &[]),
    ("cs_spec", Role::Specialist, &["child_safety"]),
    ("qa", Role::Qa, &[]),
    ("analyst", Role::Analyst, &[]),
    ("legal", Role::Partner, &["legal"]),
    ("policy", Role::Partner, &["public_policy"]),
    ("platform", Role::Integration, &[]),
];

/// A fresh, empty database for one test: a new PostgreSQL database when
/// WARDEN_TEST_POSTGRES_URL is set, else a SQLite file in a temporary directory.
pub async fn database_url() -> (String, Option<TempDir>) {
    match std::env::var("WARDEN_TEST_POSTGRES_URL") {
        Ok(admin_url) => {
            let name = format!("warden_test_{}", hex::encode(rand::random::<[u8; 6]>()));
            sqlx::any::install_default_drivers();
            let admin = sqlx::AnyPool::connect(&admin_url)
                .await
                .expect("PostgreSQL is reachable");
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&admin)
                .await
                .expect("create test database");
            admin.close().await;
            let (prefix, _) = admin_url.rsplit_once('/').expect("URL has a database");
            (format!("{prefix}/{name}"), None)
        }
        Err(_) => {
            let dir = std::env::temp_dir().join(format!(
                "warden-test-{}",
                hex::encode(rand::random::<[u8; 6]>())
            ));
            std::fs::create_dir_all(&dir).expect("temp dir");
            let url = dir
                .join("warden.db")
                .to_str()
                .expect("utf-8 path")
                .to_string();
            (url, Some(TempDir(dir)))
        }
    }
}

async fn database() -> (Db, Option<TempDir>) {
    let (url, dir) = database_url().await;
    let connections = if dir.is_some() { 8 } else { 40 };
    (Db::connect(&url, connections).await.expect("connect"), dir)
}

/// A migrated desk on a fresh database, with no users and no server.
pub async fn bare_desk() -> (Desk, Option<TempDir>) {
    bare_desk_with(Config::default()).await
}

pub async fn bare_desk_with(config: Config) -> (Desk, Option<TempDir>) {
    let (db, dir) = database().await;
    db.migrate().await.expect("migrate");
    (Desk::new(db, config), dir)
}

pub async fn start() -> TestDesk {
    start_with(Config::default()).await
}

/// A desk with the demo policy book, the people above and a server, under `config`.
pub async fn start_with(config: Config) -> TestDesk {
    let (desk, dir) = bare_desk_with(config).await;
    let clock = ManualClock::new(t0());
    let desk = desk.with_clock(Arc::new(clock.clone()));
    warden::demo::import_policies(&desk)
        .await
        .expect("the demo policy book imports");
    let mut tokens = HashMap::new();
    let mut user_ids = HashMap::new();
    for (name, role, teams) in PEOPLE {
        let password = (*role != Role::Integration).then(|| "correct horse battery".to_string());
        let user = create_user(
            &desk,
            Who::SYSTEM,
            UserInput {
                username: name.to_string(),
                display_name: None,
                role: *role,
                teams: teams.iter().map(|t| t.to_string()).collect(),
                password,
            },
        )
        .await
        .expect("create user");
        tokens.insert(
            *name,
            create_token(&desk, Who::SYSTEM, user.id, "test")
                .await
                .expect("token"),
        );
        user_ids.insert(*name, user.id);
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let (tx, rx) = oneshot::channel();
    let served = desk.clone();
    tokio::spawn(async move {
        let _ = warden::web::serve(served, listener, async {
            let _ = rx.await;
        })
        .await;
    });
    TestDesk {
        base,
        client: http_client(),
        desk,
        clock,
        tokens,
        user_ids,
        _shutdown: tx,
        _dir: dir,
    }
}

impl TestDesk {
    pub async fn call(
        &self,
        who: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = self.tokens.get(who) {
            req = req.bearer_auth(token);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        parse(req.send().await.expect("request")).await
    }

    pub async fn get(&self, who: &str, path: &str) -> (StatusCode, Value) {
        self.call(who, Method::GET, path, None).await
    }

    pub async fn post(&self, who: &str, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(who, Method::POST, path, Some(body)).await
    }

    pub fn id(&self, who: &str) -> i64 {
        self.user_ids[who]
    }

    /// Submits a report as the platform and returns the receipt.
    pub async fn report(&self, r: Value) -> Value {
        let (status, body) = self.post("platform", "/api/v1/reports", r).await;
        assert!(
            status == StatusCode::CREATED || status == StatusCode::OK,
            "{status}: {body}"
        );
        body
    }

    pub async fn count(&self, table: &str) -> i64 {
        use sqlx::Row;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
            .fetch_one(self.desk.db.reader())
            .await
            .expect("count");
        row.try_get::<i64, _>(0).expect("count value")
    }
}

pub async fn parse(res: Response) -> (StatusCode, Value) {
    let status = res.status();
    let text = res.text().await.expect("body");
    let value = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, value)
}

/// A valid report; tests change what they need.
pub fn report(external_id: &str, reporter: &str, key: &str) -> Value {
    json!({
        "subject": {
            "kind": "post",
            "external_id": external_id,
            "snapshot": {"text": "Guaranteed 300% returns, send coins to this wallet", "author_id": "acct-1",
                         "country": "FR", "language": "fr", "reach": 1200}
        },
        "source": "user",
        "reporter": {"id": reporter},
        "reason": "scams.financial",
        "text": "This is a scam",
        "idempotency_key": key
    })
}

/// The names of the fields a problem document complains about.
pub fn fields(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|e| e["field"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// Runs the `warden` binary to completion: (exit code, stdout, stderr).
pub fn warden_cli(global: &[&str], args: &[&str], stdin: Option<&str>) -> (i32, String, String) {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(global)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("warden runs");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write stdin");
    }
    let out = child.wait_with_output().expect("warden exits");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

/// A child process killed when dropped.
pub struct Killed(pub std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// An HTTP client for tests (after the process's TLS provider is in place).
pub fn http_client() -> Client {
    warden::enforcement::delivery::install_tls();
    Client::new()
}

/// A loopback address nothing listens on yet.
pub fn free_address() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("a free port")
        .local_addr()
        .expect("its address")
        .port();
    format!("127.0.0.1:{port}")
}

/// Starts `warden <global> serve --listen <listen>` as its own process and waits until it answers
/// its health check; the process is killed when the value is dropped.
pub async fn serve_warden(global: &[&str], listen: &str) -> Killed {
    use std::process::{Command, Stdio};
    let server = Killed(
        Command::new(env!("CARGO_BIN_EXE_warden"))
            .args(global)
            .args(["serve", "--listen", listen])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("warden serves"),
    );
    let client = http_client();
    for _ in 0..200 {
        if client
            .get(format!("http://{listen}/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return server;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the server did not come up on {listen}");
}
