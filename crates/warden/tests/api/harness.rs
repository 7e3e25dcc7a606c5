use chrono::{DateTime, TimeZone, Utc};
use reqwest::{Client, Method, Response, StatusCode, redirect};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
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
    (status, json_or_text(res.text().await.expect("body")))
}

/// A body as JSON, or as a JSON string when it is not JSON; `null` when empty.
fn json_or_text(text: String) -> Value {
    if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    }
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
    serve_warden_logging(global, listen, None).await
}

/// As [`serve_warden`], appending the server's log (its standard error) to `log` when given.
pub async fn serve_warden_logging(
    global: &[&str],
    listen: &str,
    log: Option<&std::path::Path>,
) -> Killed {
    use std::process::{Command, Stdio};
    let stderr = match log {
        Some(path) => Stdio::from(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .expect("the server log opens"),
        ),
        None => Stdio::null(),
    };
    let server = Killed(
        Command::new(env!("CARGO_BIN_EXE_warden"))
            .args(global)
            .args(["serve", "--listen", listen])
            .stdout(Stdio::null())
            .stderr(stderr)
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

/// Opens the sign-in page and returns the token its form carries.
pub async fn sign_in_token(client: &Client, base: &str) -> String {
    let page = client
        .get(format!("{base}/sign-in"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    page.split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_string()
}

/// The `Set-Cookie` line of the console session an answer opens, if it opens one.
pub fn session_cookie(res: &Response) -> Option<&str> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("warden_session="))
}

/// A console user: a cookie jar that does not follow redirects, and the CSRF token the pages
/// carry once signed in.
pub struct Browser {
    pub client: Client,
    pub base: String,
    pub csrf: String,
}

impl Browser {
    pub async fn sign_in(d: &TestDesk, user: &str) -> Self {
        warden::enforcement::delivery::install_tls();
        let client = Client::builder()
            .cookie_store(true)
            .redirect(redirect::Policy::none())
            .build()
            .unwrap();
        let token = sign_in_token(&client, &d.base).await;
        let res = client
            .post(format!("{}/sign-in", d.base))
            .form(&[
                ("username", user),
                ("password", "correct horse battery"),
                ("next", "/"),
                ("csrf", &token),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{user} signs in");
        let cookie = session_cookie(&res).expect("a session cookie").to_string();
        assert!(cookie.contains("HttpOnly"), "{cookie}");
        assert!(cookie.contains("SameSite=Strict"), "{cookie}");
        let mut b = Self {
            client,
            base: d.base.clone(),
            csrf: String::new(),
        };
        let (_, page) = b.get("/settings").await;
        b.csrf = page
            .split("data-csrf=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .unwrap()
            .to_string();
        b
    }

    pub async fn get(&self, path: &str) -> (StatusCode, String) {
        let res = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        (res.status(), res.text().await.unwrap())
    }

    /// Posts a form with the CSRF token; returns the status and where it redirects (or the body).
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> (StatusCode, String) {
        let mut form: Vec<(&str, &str)> = vec![("csrf", &self.csrf)];
        form.extend_from_slice(fields);
        let res = self
            .client
            .post(format!("{}{path}", self.base))
            .form(&form)
            .send()
            .await
            .unwrap();
        let status = res.status();
        let location = res
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_string());
        (status, location.unwrap_or(res.text().await.unwrap()))
    }
}

/// A directory for a test's files beside its database: the SQLite database's own directory, or the
/// system's temporary directory on PostgreSQL.
pub fn workdir(dir: &Option<TempDir>) -> PathBuf {
    match dir {
        Some(d) => d.0.clone(),
        None => std::env::temp_dir(),
    }
}

/// Writes a desk configuration (the built-in one) that delivers to `endpoint`, signed with
/// `secret`, with `delivery` settings (`timeout_seconds`, `max_attempts`, …) replacing the
/// built-in ones; returns its path, a new file in `dir`.
pub fn delivery_config(
    dir: &Path,
    endpoint: &str,
    secret: &str,
    delivery: &[(&str, i64)],
) -> PathBuf {
    let path = dir.join(format!(
        "desk-{}.toml",
        hex::encode(rand::random::<[u8; 4]>())
    ));
    let mut config: toml::Table = toml::from_str(warden::config::DEFAULT_CONFIG).unwrap();
    let table = config["delivery"].as_table_mut().unwrap();
    table.insert("endpoint".into(), endpoint.into());
    table.insert("secret".into(), secret.into());
    for (name, value) in delivery {
        table.insert((*name).into(), (*value).into());
    }
    std::fs::write(&path, toml::to_string(&config).unwrap()).unwrap();
    path
}

/// Creates a user through the `warden` command and returns a new API token for it.
pub fn cli_user_with_token(global: &[&str], username: &str, role: &str) -> String {
    let password = (role != "integration").then_some("a long enough password\n");
    let mut args = vec!["user", "add", username, "--role", role];
    if password.is_some() {
        args.push("--password-stdin");
    }
    let (code, _, err) = warden_cli(global, &args, password);
    assert_eq!(code, 0, "{err}");
    let (code, token, err) = warden_cli(global, &["token", "create", username], None);
    assert_eq!(code, 0, "{err}");
    token.trim().to_string()
}

/// Imports the demo policy book through the `warden` command.
pub fn cli_import_demo_policies(global: &[&str]) {
    let book = concat!(env!("CARGO_MANIFEST_DIR"), "/src/demo_policies.toml");
    let (code, out, err) = warden_cli(global, &["policies", "import", book], None);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("policy versions added"), "{out}");
}

/// What intake clients were told: idempotency key → the report id of its receipt.
pub type Acknowledged = Arc<Mutex<BTreeMap<String, i64>>>;

/// One answer an intake client got to one request.
#[derive(Debug, Clone)]
#[allow(dead_code)] // Each test target judges the fields it needs.
pub struct Answer {
    pub key: String,
    /// When the request was sent.
    pub sent: Instant,
    /// When the answer (or the failure) came.
    pub came: Instant,
    /// The status; `None` when no answer came (refused, reset, or no answer within the timeout).
    pub status: Option<StatusCode>,
    pub content_type: Option<String>,
    pub retry_after: Option<String>,
    /// Why no answer came.
    pub failure: Option<String>,
}

/// A platform sending reports, each until it is acknowledged: a failure to connect, no answer, or
/// any 5xx is retried with the same idempotency key, as any client of an idempotent API would.
/// Report `i` of worker `w` has key `w{w}-{i}`; one report in five names the subject of the report
/// before it.
pub struct IntakeClient {
    pub base: String,
    pub token: String,
    pub worker: usize,
    /// The most reports to send.
    pub reports: usize,
    /// Once set, no new report is started; the one under way is still sent until acknowledged.
    pub stop: Arc<AtomicBool>,
    /// How long one request may take before the client gives up on it and sends it again.
    pub timeout: Duration,
    pub acked: Acknowledged,
    /// Every answer, for tests that judge what a fault looked like from outside.
    pub answers: Arc<Mutex<Vec<Answer>>>,
}

impl IntakeClient {
    pub fn new(base: &str, token: &str, worker: usize, reports: usize) -> Self {
        Self {
            base: base.to_string(),
            token: token.to_string(),
            worker,
            reports,
            stop: Arc::default(),
            timeout: Duration::from_secs(5),
            acked: Arc::default(),
            answers: Arc::default(),
        }
    }

    /// Sends the reports; returns how many were acknowledged.
    pub async fn run(self) -> usize {
        let http = http_client();
        let w = self.worker;
        let mut sent = 0;
        for i in 0..self.reports {
            if self.stop.load(Ordering::SeqCst) {
                break;
            }
            let key = format!("w{w}-{i}");
            let subject = if i % 5 == 4 {
                format!("s-{w}-{}", i - 1)
            } else {
                format!("s-{w}-{i}")
            };
            let body = report(&subject, &format!("u-{w}-{i}"), &key);
            loop {
                let started = Instant::now();
                let result = http
                    .post(format!("{}/api/v1/reports", self.base))
                    .bearer_auth(&self.token)
                    .json(&body)
                    .timeout(self.timeout)
                    .send()
                    .await;
                let mut answer = Answer {
                    key: key.clone(),
                    sent: started,
                    came: Instant::now(),
                    status: None,
                    content_type: None,
                    retry_after: None,
                    failure: None,
                };
                let header = |r: &Response, name: reqwest::header::HeaderName| {
                    r.headers()
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string)
                };
                let receipt = match result {
                    Ok(r) => {
                        answer.status = Some(r.status());
                        answer.content_type = header(&r, reqwest::header::CONTENT_TYPE);
                        answer.retry_after = header(&r, reqwest::header::RETRY_AFTER);
                        let status = r.status();
                        let text = r.text().await.unwrap_or_default();
                        if status == StatusCode::CREATED || status == StatusCode::OK {
                            Some(serde_json::from_str::<Value>(&text).expect("a receipt"))
                        } else if status.is_server_error() {
                            None
                        } else {
                            panic!("unexpected {status} for {key}: {text}");
                        }
                    }
                    Err(e) => {
                        answer.failure = Some(e.to_string());
                        None
                    }
                };
                self.answers.lock().unwrap().push(answer);
                if let Some(receipt) = receipt {
                    let id = receipt["report_id"].as_i64().expect("report id");
                    let mut acked = self.acked.lock().unwrap();
                    if let Some(first) = acked.insert(key.clone(), id) {
                        assert_eq!(first, id, "a replay answers with the first receipt");
                    }
                    sent += 1;
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        sent
    }
}

/// How many cases the reports of [`IntakeClient`]s under these keys make: one per subject.
pub fn cases_for_keys<'a>(keys: impl IntoIterator<Item = &'a String>) -> usize {
    keys.into_iter()
        .filter(|k| {
            let i: usize = k.rsplit('-').next().unwrap().parse().unwrap();
            i % 5 != 4
        })
        .count()
}

/// The stored reports, idempotency key → report id; fails if a key is stored twice.
pub async fn stored_reports(store: &Db) -> BTreeMap<String, i64> {
    use sqlx::Row;
    let rows = sqlx::query("SELECT idempotency_key, id FROM reports")
        .fetch_all(store.reader())
        .await
        .unwrap();
    let mut stored = BTreeMap::new();
    for r in &rows {
        let key: String = r.try_get(0).unwrap();
        assert!(
            stored.insert(key.clone(), r.try_get(1).unwrap()).is_none(),
            "{key} stored twice"
        );
    }
    stored
}

/// Checks that no case is corrupt: each is the fold of its event log. Returns how many there are.
pub async fn assert_cases_are_their_event_logs(store: &Db) -> usize {
    use sqlx::Row;
    let ids = sqlx::query("SELECT id FROM cases")
        .fetch_all(store.reader())
        .await
        .unwrap();
    for r in &ids {
        let id: i64 = r.try_get(0).unwrap();
        let events = warden::store::cases::events_for_case(store, id)
            .await
            .unwrap();
        let rebuilt =
            warden::domain::case::Case::replay(id, events.iter().map(|e| (e.at, &e.event)));
        let saved = warden::store::cases::get_case(store, id).await.unwrap();
        assert_eq!(rebuilt, saved, "case {id} differs from its event log");
    }
    ids.len()
}

/// Sends a request (built anew each time) until the server answers with anything but a 5xx: no
/// answer, a refused connection or a 5xx means the server is restarting or its database is away.
/// Gives up after a minute.
pub async fn send_until_answered(
    request: impl Fn() -> reqwest::RequestBuilder,
) -> (StatusCode, Value) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(res) = request().send().await
            && !res.status().is_server_error()
        {
            let status = res.status();
            // A body cut short by a crash is no answer either.
            if let Ok(text) = res.text().await {
                return (status, json_or_text(text));
            }
        }
        assert!(Instant::now() < deadline, "no answer within a minute");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
