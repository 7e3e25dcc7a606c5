//! Who may call what: every role, and a caller who is not signed in, against every endpoint of the
//! JSON API and of the reviewer console. The two tables below are the specification, written out
//! by hand rather than read from the permission code. The test also fails when the server has an
//! endpoint the tables do not decide, so no endpoint ships without someone deciding who may call it.
//!
//! Every call meets real things (a case the caller holds, a decision waiting for a lead, a dead
//! delivery), so an allowed call must succeed, not merely get past the door. A refused call is 401
//! without a token or session and 403 with one; the console sends a caller without a session to
//! the sign-in page instead.

use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue, LOCATION};
use reqwest::{Client, Method, StatusCode, redirect};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::harness::{Browser, TestDesk, free_address, parse, report, sign_in_token, start_with};
use warden::access::Role;
use warden::clock::Clock;
use warden::config::Config;

/// Allowed.
const Y: bool = true;
/// Refused.
const N: bool = false;

/// The callers, one per column: the roles in the order of `Role::ALL`, then an anonymous caller.
const CALLERS: [Option<Role>; 8] = [
    Some(Role::Admin),
    Some(Role::Lead),
    Some(Role::Specialist),
    Some(Role::Qa),
    Some(Role::Analyst),
    Some(Role::Partner),
    Some(Role::Integration),
    None,
];

/// Method, path as the router names it, and whether each caller may call it.
type Row = (&'static str, &'static str, [bool; 8]);

/// The JSON API under `/api/v1`, and the routes beside it. Anyone may sign in with a password (the
/// anonymous caller signs in as a second specialist); an integration has none, so it cannot.
#[rustfmt::skip]
const API: &[Row] = &[
    //                                                      admin lead spec qa analyst partner integration anonymous
    ("POST",   "/api/v1/reports",                          [Y,    Y,   N,   N, N,      N,      Y,          N]),
    ("POST",   "/api/v1/reports/batch",                    [Y,    Y,   N,   N, N,      N,      Y,          N]),
    ("GET",    "/api/v1/reports/{id}",                     [Y,    Y,   Y,   Y, Y,      N,      N,          N]),
    ("GET",    "/api/v1/cases",                            [Y,    Y,   Y,   Y, Y,      N,      N,          N]),
    ("GET",    "/api/v1/search",                           [Y,    Y,   Y,   Y, Y,      N,      N,          N]),
    ("GET",    "/api/v1/cases/{id}",                       [Y,    Y,   Y,   Y, Y,      N,      N,          N]),
    ("POST",   "/api/v1/cases/{id}/assign",                [Y,    Y,   N,   N, N,      N,      N,          N]),
    ("POST",   "/api/v1/cases/{id}/release",               [Y,    Y,   Y,   N, N,      N,      N,          N]),
    ("POST",   "/api/v1/cases/{id}/notes",                 [Y,    Y,   Y,   N, N,      N,      N,          N]),
    ("POST",   "/api/v1/cases/{id}/tags",                  [Y,    Y,   Y,   N, N,      N,      N,          N]),
    ("POST",   "/api/v1/cases/{id}/consultations",         [Y,    Y,   Y,   N, N,      N,      N,          N]),
    ("POST",   "/api/v1/cases/{id}/request-info",          [Y,    Y,   Y,   N, N,      N,      N,          N]),
    ("POST",   "/api/v1/cases/{id}/receive-info",          [Y,    Y,   Y,   N, N,      N,      N,          N]),
    ("POST",   "/api/v1/cases/{id}/restriction",           [Y,    Y,   N,   N, N,      N,      N,          N]),
    ("POST",   "/api/v1/cases/{id}/decision",              [Y,    Y,   Y,   N, N,      N,      N,          N]),
    ("GET",    "/api/v1/cases/{id}/decision-form",         [Y,    Y,   Y,   Y, Y,      N,      N,          N]),
    ("GET",    "/api/v1/cases/{id}/enforcement",           [Y,    Y,   Y,   Y, Y,      N,      N,          N]),
    ("GET",    "/api/v1/decisions/{id}",                   [Y,    Y,   Y,   Y, Y,      N,      N,          N]),
    ("GET",    "/api/v1/decisions/{id}/statement",         [Y,    Y,   Y,   Y, Y,      N,      N,          N]),
    ("GET",    "/api/v1/approvals",                        [Y,    Y,   N,   N, N,      N,      N,          N]),
    ("POST",   "/api/v1/decisions/{id}/approve",           [Y,    Y,   N,   N, N,      N,      N,          N]),
    ("POST",   "/api/v1/decisions/{id}/reject",            [Y,    Y,   N,   N, N,      N,      N,          N]),
    ("GET",    "/api/v1/accounts/{id}/standing",           [Y,    Y,   Y,   Y, Y,      N,      N,          N]),
    ("GET",    "/api/v1/policies",                         [Y,    Y,   Y,   Y, Y,      Y,      N,          N]),
    ("POST",   "/api/v1/policies",                         [Y,    Y,   N,   N, N,      N,      N,          N]),
    ("GET",    "/api/v1/policies/{id}",                    [Y,    Y,   Y,   Y, Y,      Y,      N,          N]),
    ("POST",   "/api/v1/policies/import",                  [Y,    Y,   N,   N, N,      N,      N,          N]),
    ("GET",    "/api/v1/policies/export",                  [Y,    Y,   Y,   Y, Y,      Y,      N,          N]),
    ("GET",    "/api/v1/policies/changes",                 [Y,    Y,   Y,   Y, Y,      Y,      N,          N]),
    ("POST",   "/api/v1/policies/changes/seen",            [Y,    Y,   Y,   Y, Y,      Y,      N,          N]),
    ("POST",   "/api/v1/appeals",                          [Y,    N,   N,   N, N,      N,      Y,          N]),
    ("GET",    "/api/v1/appeals/{id}",                     [Y,    Y,   Y,   Y, Y,      N,      N,          N]),
    ("POST",   "/api/v1/appeals/{id}/decision",            [Y,    Y,   Y,   N, N,      N,      N,          N]),
    ("GET",    "/api/v1/deliveries",                       [Y,    Y,   N,   N, N,      N,      N,          N]),
    ("POST",   "/api/v1/deliveries/{id}/retry",            [Y,    Y,   N,   N, N,      N,      N,          N]),
    ("GET",    "/api/v1/queues",                           [Y,    Y,   Y,   Y, Y,      N,      N,          N]),
    ("POST",   "/api/v1/queues/{queue}/claim",             [Y,    Y,   Y,   N, N,      N,      N,          N]),
    ("GET",    "/api/v1/consultations",                    [Y,    Y,   Y,   Y, Y,      Y,      N,          N]),
    ("POST",   "/api/v1/consultations/{id}/answer",        [Y,    Y,   N,   N, N,      Y,      N,          N]),
    ("POST",   "/api/v1/session",                          [Y,    Y,   Y,   Y, Y,      Y,      N,          Y]),
    ("DELETE", "/api/v1/session",                          [Y,    Y,   Y,   Y, Y,      Y,      Y,          Y]),
    ("GET",    "/api/v1/me",                               [Y,    Y,   Y,   Y, Y,      Y,      Y,          N]),
    ("GET",    "/api/v1/users",                            [Y,    Y,   N,   N, N,      N,      N,          N]),
    ("POST",   "/api/v1/users",                            [Y,    N,   N,   N, N,      N,      N,          N]),
    ("POST",   "/api/v1/users/{id}/tokens",                [Y,    N,   N,   N, N,      N,      N,          N]),
    ("GET",    "/api/v1/alerts",                           [Y,    Y,   Y,   Y, Y,      N,      N,          N]),
    ("POST",   "/api/v1/alerts/{id}/acknowledge",          [Y,    Y,   N,   N, N,      N,      N,          N]),
    ("POST",   "/api/v1/alerts/scan",                      [Y,    Y,   N,   N, N,      N,      N,          N]),
    ("GET",    "/api/v1/banks",                            [Y,    Y,   Y,   Y, Y,      N,      N,          N]),
    ("POST",   "/api/v1/banks",                            [Y,    Y,   N,   N, N,      N,      N,          N]),
    ("GET",    "/api/v1/banks/{id}",                       [Y,    Y,   Y,   Y, Y,      N,      N,          N]),
    ("PATCH",  "/api/v1/banks/{id}",                       [Y,    Y,   N,   N, N,      N,      N,          N]),
    ("GET",    "/api/v1/banks/{id}/entries",               [Y,    Y,   Y,   Y, Y,      N,      N,          N]),
    ("POST",   "/api/v1/banks/{id}/entries",               [Y,    Y,   N,   N, N,      N,      N,          N]),
    ("PATCH",  "/api/v1/banks/{id}/entries/{entry_id}",    [Y,    Y,   N,   N, N,      N,      N,          N]),
    ("DELETE", "/api/v1/banks/{id}/entries/{entry_id}",    [Y,    Y,   N,   N, N,      N,      N,          N]),
    ("POST",   "/api/v1/banks/{id}/import",                [Y,    Y,   N,   N, N,      N,      N,          N]),
    ("GET",    "/api/v1/banks/{id}/export",                [Y,    Y,   Y,   Y, Y,      N,      N,          N]),
    ("GET",    "/api/v1/cases/{id}/matches",               [Y,    Y,   Y,   Y, Y,      N,      N,          N]),
    ("POST",   "/api/v1/cases/{id}/matches/{match_id}/verdict", [Y, Y, Y,   N, N,      N,      N,          N]),
    ("GET",    "/api/v1/analytics/views",                  [Y,    Y,   N,   Y, Y,      N,      N,          N]),
    ("POST",   "/api/v1/analytics/query",                  [Y,    Y,   N,   Y, Y,      N,      N,          N]),
    ("GET",    "/api/v1/analytics/saved",                  [Y,    Y,   N,   Y, Y,      N,      N,          N]),
    ("POST",   "/api/v1/analytics/saved",                  [Y,    Y,   N,   Y, Y,      N,      N,          N]),
    ("DELETE", "/api/v1/analytics/saved/{id}",             [Y,    Y,   N,   Y, Y,      N,      N,          N]),
    ("GET",    "/api/v1/kpis",                             [Y,    Y,   Y,   Y, Y,      N,      N,          N]),
    ("GET",    "/api/v1/openapi.json",                     [Y,    Y,   Y,   Y, Y,      Y,      Y,          Y]),
    ("GET",    "/healthz",                                 [Y,    Y,   Y,   Y, Y,      Y,      Y,          Y]),
    ("GET",    "/metrics",                                 [Y,    Y,   Y,   Y, Y,      Y,      Y,          Y]),
];

/// The reviewer console. It knows only sessions, so an integration's token counts for nothing
/// there. Partners who open the queues are sent on to their consultations, which is allowed.
/// Signing out comes last: it ends the sessions the rows above use.
#[rustfmt::skip]
const CONSOLE: &[Row] = &[
    //                                                admin lead spec qa analyst partner integration anonymous
    ("GET",    "/sign-in",                           [Y,    Y,   Y,   Y, Y,      Y,      Y,          Y]),
    ("POST",   "/sign-in",                           [Y,    Y,   Y,   Y, Y,      Y,      N,          Y]),
    ("GET",    "/static/{file}",                     [Y,    Y,   Y,   Y, Y,      Y,      Y,          Y]),
    ("GET",    "/",                                  [Y,    Y,   Y,   Y, Y,      Y,      N,          N]),
    ("GET",    "/my",                                [Y,    Y,   Y,   N, N,      N,      N,          N]),
    ("POST",   "/queues/{queue}/claim",              [Y,    Y,   Y,   N, N,      N,      N,          N]),
    ("GET",    "/cases/{id}",                        [Y,    Y,   Y,   Y, Y,      N,      N,          N]),
    ("POST",   "/cases/{id}/notes",                  [Y,    Y,   Y,   N, N,      N,      N,          N]),
    ("POST",   "/cases/{id}/release",                [Y,    Y,   Y,   N, N,      N,      N,          N]),
    ("POST",   "/cases/{id}/consultations",          [Y,    Y,   Y,   N, N,      N,      N,          N]),
    ("GET",    "/cases/{id}/policy-panel",           [Y,    Y,   Y,   Y, Y,      N,      N,          N]),
    ("POST",   "/cases/{id}/decision",               [Y,    Y,   Y,   N, N,      N,      N,          N]),
    ("POST",   "/cases/{id}/decision/preview",       [Y,    Y,   Y,   Y, Y,      N,      N,          N]),
    ("POST",   "/cases/{id}/matches/{match_id}/verdict", [Y,  Y,   Y,   N, N,      N,      N,          N]),
    ("POST",   "/decisions/{id}/approve",            [Y,    Y,   N,   N, N,      N,      N,          N]),
    ("POST",   "/decisions/{id}/reject",             [Y,    Y,   N,   N, N,      N,      N,          N]),
    ("GET",    "/search",                            [Y,    Y,   Y,   Y, Y,      N,      N,          N]),
    ("GET",    "/policies",                          [Y,    Y,   Y,   Y, Y,      Y,      N,          N]),
    ("GET",    "/policies/{id}",                     [Y,    Y,   Y,   Y, Y,      Y,      N,          N]),
    ("GET",    "/banks",                             [Y,    Y,   Y,   Y, Y,      N,      N,          N]),
    ("GET",    "/banks/{id}",                        [Y,    Y,   Y,   Y, Y,      N,      N,          N]),
    ("POST",   "/banks/{id}/import",                 [Y,    Y,   N,   N, N,      N,      N,          N]),
    ("POST",   "/banks/{id}/entries/{entry_id}/toggle", [Y,   Y,   N,   N, N,      N,      N,          N]),
    ("GET",    "/consultations",                     [Y,    Y,   N,   N, N,      Y,      N,          N]),
    ("POST",   "/consultations/{id}/answer",         [Y,    Y,   N,   N, N,      Y,      N,          N]),
    ("GET",    "/admin",                             [Y,    N,   N,   N, N,      N,      N,          N]),
    ("POST",   "/admin/users",                       [Y,    N,   N,   N, N,      N,      N,          N]),
    ("POST",   "/admin/users/{id}/tokens",           [Y,    N,   N,   N, N,      N,      N,          N]),
    ("GET",    "/settings",                          [Y,    Y,   Y,   Y, Y,      Y,      N,          N]),
    ("POST",   "/settings",                          [Y,    Y,   Y,   Y, Y,      Y,      N,          N]),
    ("POST",   "/exposure",                          [Y,    Y,   Y,   Y, Y,      Y,      N,          N]),
    ("GET",    "/analytics",                         [Y,    Y,   N,   Y, Y,      N,      N,          N]),
    ("POST",   "/analytics",                         [Y,    Y,   N,   Y, Y,      N,      N,          N]),
    ("POST",   "/analytics/saved/{id}/delete",       [Y,    Y,   N,   Y, Y,      N,      N,          N]),
    ("GET",    "/dashboard",                         [Y,    Y,   Y,   Y, Y,      N,      N,          N]),
    ("GET",    "/alerts",                            [Y,    Y,   Y,   Y, Y,      N,      N,          N]),
    ("POST",   "/alerts/{id}/acknowledge",           [Y,    Y,   N,   N, N,      N,      N,          N]),
    ("POST",   "/sign-out",                          [Y,    Y,   Y,   Y, Y,      Y,      N,          N]),
];

const PASSWORD: &str = "correct horse battery";

/// Who plays each role. The lead is in the legal team, so that lead can answer legal's
/// consultations.
fn person(caller: Option<Role>) -> &'static str {
    match caller {
        Some(Role::Admin) => "admin",
        Some(Role::Lead) => "legal_lead",
        Some(Role::Specialist) => "spec",
        Some(Role::Qa) => "qa",
        Some(Role::Analyst) => "analyst",
        Some(Role::Partner) => "legal",
        Some(Role::Integration) => "platform",
        None => "nobody",
    }
}

fn column(caller: Option<Role>) -> &'static str {
    caller.map_or("anonymous", Role::as_str)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_caller_gets_what_the_tables_say() {
    assert_eq!(
        Role::ALL.map(Some)[..],
        CALLERS[..7],
        "a new role needs its own column in both tables"
    );
    let mut config = Config::default();
    // A platform nobody answers for, tried once: deliveries die at once and leave dead letters.
    config.delivery.endpoint = Some(format!("http://{}/", free_address()));
    config.delivery.max_attempts = 1;
    config.delivery.poll_interval_ms = 20;
    // Every anonymous call comes from one address, faster than its allowance refills; the
    // throttle has tests of its own (limits.rs), and here it would only hide what access says.
    config.limits.anonymous_burst = 10_000;
    let mut d = start_with(config).await;
    let (status, lead) = d
        .post(
            "admin",
            "/api/v1/users",
            json!({"username": "legal_lead", "role": "lead", "teams": ["legal"], "password": PASSWORD}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{lead}");
    let id = lead["id"].as_i64().unwrap();
    let (status, token) = d
        .post(
            "admin",
            &format!("/api/v1/users/{id}/tokens"),
            json!({"name": "matrix"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{token}");
    d.tokens
        .insert("legal_lead", token["token"].as_str().unwrap().to_string());
    d.user_ids.insert("legal_lead", id);

    // Every endpoint is in a table, and every row is an endpoint.
    let (status, spec) = d.get("nobody", "/api/v1/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    let mut api = documented(&spec);
    api.extend(declared_routes(include_str!("../../src/web/mod.rs")));
    same_endpoints("API", API, &api);
    same_endpoints(
        "console",
        CONSOLE,
        &declared_routes(include_str!("../../src/web/console/mod.rs")),
    );

    let world = World::new(&d).await;
    let mut wrong = Vec::new();
    for &(method, template, allowed) in API {
        let cells =
            std::array::from_fn(|i| world.api_cell(CALLERS[i], method, template, allowed[i]));
        wrong.extend(each_caller(cells).await.into_iter().flatten());
    }
    let browsers = each_caller(CALLERS.map(|caller| browser(&d, caller))).await;
    for &(method, template, allowed) in CONSOLE {
        let cells = std::array::from_fn(|i| {
            world.console_cell(CALLERS[i], &browsers[i], method, template, allowed[i])
        });
        wrong.extend(each_caller(cells).await.into_iter().flatten());
    }
    let calls = (API.len() + CONSOLE.len()) * CALLERS.len();
    assert!(
        wrong.is_empty(),
        "{} of {calls} calls went otherwise than the tables say:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

/// Runs one call per caller at once: no call changes anything another caller's call uses.
async fn each_caller<F: Future>(calls: [F; 8]) -> [F::Output; 8] {
    let [a, b, c, d, e, f, g, h] = calls;
    let (a, b, c, d, e, f, g, h) = tokio::join!(a, b, c, d, e, f, g, h);
    [a, b, c, d, e, f, g, h]
}

/// The console as `caller` sees it: signed in, or not signed in (an anonymous caller, or an
/// integration with its token).
async fn browser(d: &TestDesk, caller: Option<Role>) -> Browser {
    let mut headers = HeaderMap::new();
    match caller {
        Some(Role::Integration) => {
            let token = format!("Bearer {}", d.tokens[person(caller)]);
            headers.insert(AUTHORIZATION, HeaderValue::from_str(&token).unwrap());
        }
        Some(_) => return Browser::sign_in(d, person(caller)).await,
        None => {}
    }
    Browser {
        client: Client::builder()
            .redirect(redirect::Policy::none())
            .default_headers(headers)
            .build()
            .unwrap(),
        base: d.base.clone(),
        csrf: String::new(),
    }
}

/// A console page by its title.
fn title(page: &str) -> &str {
    page.split_once("<title>")
        .and_then(|(_, rest)| rest.split_once("</title>"))
        .map_or(page, |(title, _)| title)
}

/// What went wrong, short enough to read in a list.
fn excerpt(text: &str) -> String {
    text.chars().take(160).collect()
}

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Every operation the OpenAPI document lists, as (method, path).
fn documented(spec: &Value) -> BTreeSet<(String, String)> {
    let mut found = BTreeSet::new();
    for (path, item) in spec["paths"].as_object().expect("the document has paths") {
        for method in item.as_object().expect("a path item").keys() {
            if METHODS.contains(&method.as_str()) {
                found.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    found
}

/// The routes a router's source declares: `.route("/path", get(a).post(b))` is GET and POST
/// `/path`. Axum cannot list a router's routes, so the source is the only list there is.
fn declared_routes(source: &str) -> BTreeSet<(String, String)> {
    let mut found = BTreeSet::new();
    for piece in source.split(".route(").skip(1) {
        let (path, rest) = piece.split_once(',').expect("a route has a path");
        let path = path.trim().trim_matches('"');
        // The method router runs to the parenthesis that closes `.route(`.
        let mut depth = 1;
        let end = rest
            .char_indices()
            .find(|&(_, c)| {
                match c {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    _ => {}
                }
                depth == 0
            })
            .map_or(rest.len(), |(i, _)| i);
        let methods = &rest[..end];
        for method in METHODS {
            let call = format!("{method}(");
            let called = methods.match_indices(&call).any(|(at, _)| {
                methods[..at]
                    .chars()
                    .next_back()
                    .is_none_or(|c| !(c.is_alphanumeric() || c == '_'))
            });
            if called {
                found.insert((method.to_uppercase(), path.to_string()));
            }
        }
    }
    assert!(!found.is_empty(), "no routes found in the router's source");
    found
}

/// Fails unless the table has one row for each endpoint the server has, and no other.
fn same_endpoints(what: &str, table: &[Row], served: &BTreeSet<(String, String)>) {
    let rows: BTreeSet<(String, String)> = table
        .iter()
        .map(|(m, p, _)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(rows.len(), table.len(), "the {what} table has a row twice");
    let undecided: Vec<_> = served.difference(&rows).collect();
    let gone: Vec<_> = rows.difference(served).collect();
    assert!(
        undecided.is_empty() && gone.is_empty(),
        "the {what} table is out of date; decide who may call {undecided:?}, and drop {gone:?}"
    );
}

enum Body {
    Empty,
    Json(Value),
    Toml(String),
    /// A hash list, as `text/plain`.
    Text(String),
}

/// One API call as `who` (with their token, if they have one).
async fn send(
    d: &TestDesk,
    who: &str,
    method: &str,
    path: &str,
    body: Body,
) -> (StatusCode, Value) {
    let method: Method = method.parse().unwrap();
    match body {
        Body::Empty => d.call(who, method, path, None).await,
        Body::Json(v) => d.call(who, method, path, Some(v)).await,
        Body::Toml(text) | Body::Text(text) => {
            let bare = path.split('?').next().unwrap_or(path);
            let kind = if bare.ends_with("/import") && bare.contains("/banks/") {
                "text/plain"
            } else {
                "application/toml"
            };
            let mut req = d
                .client
                .request(method, format!("{}{path}", d.base))
                .header("content-type", kind)
                .body(text);
            if let Some(token) = d.tokens.get(who) {
                req = req.bearer_auth(token);
            }
            parse(req.send().await.unwrap()).await
        }
    }
}

/// One console request: the form carries the page's CSRF token, and the htmx call sends it in
/// its header as the page's script does. Returns the status, where it redirects and the page.
async fn visit(
    b: &Browser,
    method: &str,
    path: &str,
    form: &[(&'static str, String)],
) -> (StatusCode, Option<String>, String) {
    let url = format!("{}{path}", b.base);
    let req = match method {
        "GET" => b.client.get(url),
        "POST" if path == "/exposure" => b.client.post(url).header("x-warden-csrf", &b.csrf),
        "POST" => {
            let mut fields = vec![("csrf", b.csrf.clone())];
            fields.extend_from_slice(form);
            b.client.post(url).form(&fields)
        }
        _ => panic!("the console has no {method} forms"),
    };
    let res = req.send().await.unwrap();
    let location = res
        .headers()
        .get(LOCATION)
        .map(|l| l.to_str().unwrap().to_string());
    (res.status(), location, res.text().await.unwrap())
}

/// The sign-in form, from a browser of its own with the sign-in page's token.
async fn sign_in(
    d: &TestDesk,
    form: &[(&'static str, String)],
) -> (StatusCode, Option<String>, String) {
    let client = Client::builder()
        .cookie_store(true)
        .redirect(redirect::Policy::none())
        .build()
        .unwrap();
    let b = Browser {
        csrf: sign_in_token(&client, &d.base).await,
        client,
        base: d.base.clone(),
    };
    visit(&b, "POST", "/sign-in", form).await
}

/// Removing a scam post, with a strike.
fn removal() -> Value {
    json!({
        "verdict": "violating",
        "policy": "community.fraud_scams",
        "rationale": "Wallet scam; same pattern as the campaign last week.",
        "explanation": "The post promises guaranteed returns and asks for transfers to a private wallet.",
        "actions": [{"kind": "remove"}, {"kind": "strike"}]
    })
}

/// A reported post and the case it opened.
struct Subject {
    case: i64,
    report: i64,
    account: String,
}

/// What the calls need: things to read, shared by every caller, and fresh ones for each call
/// that changes something.
struct World<'a> {
    d: &'a TestDesk,
    /// Numbers the posts, users and policies made for single calls.
    made: AtomicUsize,
    /// A closed case, its report, the removal decided on it and its author's account.
    case: i64,
    report: i64,
    decision: i64,
    account: String,
    appeal: i64,
    /// A bank of known media, and a case whose media matched it.
    bank: i64,
    matched_case: i64,
    media_match: i64,
    /// Dead deliveries already retried.
    retried: Mutex<BTreeSet<i64>>,
}

impl<'a> World<'a> {
    async fn new(d: &'a TestDesk) -> Self {
        let mut w = World {
            d,
            made: AtomicUsize::new(0),
            case: 0,
            report: 0,
            decision: 0,
            account: String::new(),
            appeal: 0,
            bank: 0,
            matched_case: 0,
            media_match: 0,
            retried: Mutex::default(),
        };
        let (s, decided) = w.decided(removal()["actions"].clone()).await;
        assert_eq!(decided["decision"]["state"], "effective", "{decided}");
        (w.case, w.report, w.account) = (s.case, s.report, s.account);
        w.decision = decided["decision_id"].as_i64().unwrap();
        w.appeal = w.appealed().await.0;
        (w.bank, w.matched_case, w.media_match) = w.matched().await;
        w
    }

    /// A bank with one entry, and a reported photo whose platform-sent hash matched it.
    async fn matched(&self) -> (i64, i64, i64) {
        let (status, bank) = self
            .d
            .post(
                "admin",
                "/api/v1/banks",
                json!({"name": "Matrix bank", "policy": "community.dangerous_organisations"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{bank}");
        let bank = bank["id"].as_i64().unwrap();
        let entry = self.bank_entry(bank).await;
        let mut r = report("matrix-photo", "matrix-photo-reporter", "matrix-photo");
        r["subject"]["kind"] = json!("photo");
        r["subject"]["snapshot"]["pdq_hashes"] = json!([entry]);
        let case = self.d.report(r).await["case_id"].as_i64().unwrap();
        for _ in 0..200 {
            let (_, matches) = self
                .d
                .get("admin", &format!("/api/v1/cases/{case}/matches"))
                .await;
            if let Some(m) = matches.as_array().and_then(|m| m.first()) {
                return (bank, case, m["id"].as_i64().unwrap());
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("the photo's hash did not match its bank within 10 s");
    }

    /// A new hash in the bank; returns its hex form.
    async fn bank_entry(&self, bank: i64) -> String {
        let n = self.next() as u64;
        let hash = format!(
            "{:016x}{}",
            0x9e37_79b9_7f4a_7c15u64.wrapping_mul(n + 1),
            "a5".repeat(24)
        );
        let (status, added) = self
            .d
            .post(
                "admin",
                &format!("/api/v1/banks/{bank}/entries"),
                json!({"entries": [{"hash": hash}]}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{added}");
        hash
    }

    /// The id of a new entry of the bank.
    async fn bank_entry_id(&self) -> i64 {
        let hash = self.bank_entry(self.bank).await;
        let (_, entries) = self
            .d
            .get(
                "admin",
                &format!("/api/v1/banks/{}/entries?limit=1000", self.bank),
            )
            .await;
        entries
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["hash"] == hash.as_str())
            .and_then(|e| e["id"].as_i64())
            .expect("the new entry is listed")
    }

    fn next(&self) -> usize {
        self.made.fetch_add(1, Ordering::Relaxed)
    }

    /// A new scam post, reported by the platform, in a case of its own in the ads_fraud queue.
    async fn fresh(&self) -> Subject {
        let n = self.next();
        let account = format!("matrix-acct-{n}");
        let mut r = report(
            &format!("matrix-post-{n}"),
            &format!("matrix-reporter-{n}"),
            &format!("matrix-{n}"),
        );
        r["subject"]["snapshot"]["author_id"] = json!(account);
        let receipt = self.d.report(r).await;
        Subject {
            case: receipt["case_id"].as_i64().unwrap(),
            report: receipt["report_id"].as_i64().unwrap(),
            account,
        }
    }

    /// Gives a case to `who`, or to a second lead when the desk will not give `who` a case at
    /// all, so every caller meets the case in the state most favourable to it. Returns the holder.
    async fn give(&self, case: i64, who: &'static str) -> &'static str {
        let path = format!("/api/v1/cases/{case}/assign");
        if let Some(&id) = self.d.user_ids.get(who)
            && self.d.post("admin", &path, json!({"assignee": id})).await.0 == StatusCode::OK
        {
            return who;
        }
        let (status, body) = self
            .d
            .post("admin", &path, json!({"assignee": self.d.id("lead2")}))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        "lead2"
    }

    /// A fresh case held by `who` where it can be; returns it and its holder.
    async fn held(&self, who: &'static str) -> (i64, &'static str) {
        let case = self.fresh().await.case;
        (case, self.give(case, who).await)
    }

    /// A fresh case decided by another specialist with `actions`.
    async fn decided(&self, actions: Value) -> (Subject, Value) {
        let s = self.fresh().await;
        assert_eq!(self.give(s.case, "spec2").await, "spec2");
        let mut body = removal();
        body["actions"] = actions;
        let (status, decided) = self
            .d
            .post("spec2", &format!("/api/v1/cases/{}/decision", s.case), body)
            .await;
        assert_eq!(status, StatusCode::CREATED, "{decided}");
        (s, decided)
    }

    /// A decision the two-person rule holds for a lead.
    async fn held_decision(&self) -> i64 {
        let (_, decided) = self
            .decided(json!([{"kind": "remove"}, {"kind": "disable_account"}]))
            .await;
        assert_eq!(
            decided["decision"]["state"], "awaiting_approval",
            "{decided}"
        );
        decided["decision_id"].as_i64().unwrap()
    }

    /// The author's appeal against a removal, filed by the platform; returns it and its case,
    /// back in the appeals queue.
    async fn appealed(&self) -> (i64, i64) {
        let (s, decided) = self.decided(json!([{"kind": "remove"}])).await;
        let (status, filed) = self
            .d
            .post(
                "platform",
                "/api/v1/appeals",
                json!({"decision_id": decided["decision_id"], "appellant": "affected_user",
                       "appellant_id": s.account, "statement": "It was a joke between friends."}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{filed}");
        (filed["id"].as_i64().unwrap(), s.case)
    }

    /// A question to the legal team about a case another specialist holds.
    async fn consultation(&self) -> i64 {
        let (case, holder) = self.held("spec2").await;
        let (status, asked) = self
            .d
            .post(
                holder,
                &format!("/api/v1/cases/{case}/consultations"),
                self.question(),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{asked}");
        asked["id"].as_i64().unwrap()
    }

    /// A query `who` saved, for them to delete; an admin's when `who` may not save one.
    async fn saved_query(&self, who: &str, n: usize) -> i64 {
        let body = json!({"name": format!("matrix saved {n}"), "sql": "SELECT 1"});
        let (status, saved) = self
            .d
            .post(who, "/api/v1/analytics/saved", body.clone())
            .await;
        if status == StatusCode::CREATED {
            return saved["id"].as_i64().unwrap();
        }
        let (status, saved) = self.d.post("admin", "/api/v1/analytics/saved", body).await;
        assert_eq!(status, StatusCode::CREATED, "{saved}");
        saved["id"].as_i64().unwrap()
    }

    fn question(&self) -> Value {
        json!({"team": "legal", "question": "Is this lawful in FR?",
               "due_at": self.d.clock.now() + chrono::Duration::days(1)})
    }

    /// A delivery the platform never took, not yet retried here.
    async fn dead_delivery(&self) -> i64 {
        for _ in 0..500 {
            let (_, dead) = self
                .d
                .get("admin", "/api/v1/deliveries?state=dead&limit=500")
                .await;
            let mut ids = dead
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|x| x["id"].as_i64());
            // Several callers look at once; each takes a delivery no other has taken.
            if let Some(id) = ids.find(|&id| self.retried.lock().unwrap().insert(id)) {
                return id;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!("no delivery was dead-lettered");
    }

    /// `caller`'s call to an API endpoint; says what went wrong, if anything did.
    async fn api_cell(
        &self,
        caller: Option<Role>,
        method: &str,
        template: &str,
        allowed: bool,
    ) -> Option<String> {
        let (path, body) = self.api_call(caller, method, template).await;
        let (status, answer) = send(self.d, person(caller), method, &path, body).await;
        // Signing in carries its credentials in the body: a refusal there is 401 for anyone.
        let refused = if caller.is_none() || (method, template) == ("POST", "/api/v1/session") {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::FORBIDDEN
        };
        let (right, wanted) = if allowed {
            (status.is_success(), "success".to_string())
        } else {
            (status == refused, refused.to_string())
        };
        (!right).then(|| {
            format!(
                "{:<11} {method} {path}: wanted {wanted}, got {status} {}",
                column(caller),
                excerpt(&answer.to_string()),
            )
        })
    }

    /// `caller`'s request to a console page or form; says what went wrong, if anything did.
    async fn console_cell(
        &self,
        caller: Option<Role>,
        browser: &Browser,
        method: &str,
        template: &str,
        allowed: bool,
    ) -> Option<String> {
        let (path, form) = self.console_call(caller, method, template).await;
        let signing_in = (method, template) == ("POST", "/sign-in");
        let (status, location, page) = if signing_in {
            sign_in(self.d, &form).await
        } else {
            visit(browser, method, &path, &form).await
        };
        let to_sign_in = location
            .as_deref()
            .is_some_and(|l| l.starts_with("/sign-in?next="));
        let has_session = caller.is_some_and(|r| r != Role::Integration);
        let (right, wanted) = if allowed {
            (
                (status.is_success() || status.is_redirection()) && !to_sign_in,
                "a page or a redirect",
            )
        } else if signing_in {
            (status == StatusCode::UNAUTHORIZED, "401")
        } else if has_session {
            (status == StatusCode::FORBIDDEN, "403")
        } else {
            (
                status == StatusCode::SEE_OTHER && to_sign_in,
                "the way to the sign-in page",
            )
        };
        (!right).then(|| {
            format!(
                "{:<11} {method} {path} (console): wanted {wanted}, got {status} {}",
                column(caller),
                location.unwrap_or_else(|| excerpt(title(&page))),
            )
        })
    }

    /// A new open alert, as a scan would store it.
    async fn open_alert(&self, n: usize) -> i64 {
        let alert = warden::domain::alert::NewAlert {
            kind: warden::domain::alert::AlertKind::EmergingTerm,
            key: format!("matrix-term-{n}"),
            hour: 1_000_000 + n as i64,
            count: 30.0,
            expected: 0.5,
            typical_low: None,
            typical_high: None,
            score: 0.9999,
            explanation: format!("\u{201c}matrix-term-{n}\u{201d} in 30 reports in the last hour"),
            case_id: None,
            restricted_team: None,
        };
        warden::store::alerts::insert_alert(&self.d.desk.db, &alert, self.d.desk.now(), None)
            .await
            .unwrap()
            .expect("a new alert")
    }

    /// The path and body of `caller`'s call to an API endpoint, with what it needs set up.
    async fn api_call(&self, caller: Option<Role>, method: &str, template: &str) -> (String, Body) {
        let who = person(caller);
        let at = |id: i64| template.replace("{id}", &id.to_string());
        let n = self.next();
        match (method, template) {
            ("POST", "/api/v1/reports") => (template.into(), Body::Json(self.new_report(n))),
            ("POST", "/api/v1/reports/batch") => (
                template.into(),
                Body::Json(json!({"reports": [self.new_report(n)]})),
            ),
            ("GET", "/api/v1/reports/{id}") => (at(self.report), Body::Empty),
            ("GET", "/api/v1/search") => ("/api/v1/search?q=wallet".into(), Body::Empty),
            (
                "GET",
                "/api/v1/cases/{id}"
                | "/api/v1/cases/{id}/decision-form"
                | "/api/v1/cases/{id}/enforcement",
            ) => (at(self.case), Body::Empty),
            ("POST", "/api/v1/cases/{id}/assign") => (
                at(self.fresh().await.case),
                Body::Json(json!({"assignee": self.d.id("spec")})),
            ),
            ("POST", "/api/v1/cases/{id}/release") => {
                (at(self.held(who).await.0), Body::Json(json!({})))
            }
            ("POST", "/api/v1/cases/{id}/notes") => (
                at(self.held(who).await.0),
                Body::Json(json!({"body": "Seen this wallet before."})),
            ),
            ("POST", "/api/v1/cases/{id}/tags") => (
                at(self.held(who).await.0),
                Body::Json(json!({"add": ["wallet"]})),
            ),
            ("POST", "/api/v1/cases/{id}/consultations") => {
                (at(self.held(who).await.0), Body::Json(self.question()))
            }
            ("POST", "/api/v1/cases/{id}/request-info") => (
                at(self.held(who).await.0),
                Body::Json(json!({"question": "Which wallet did they ask you to pay?"})),
            ),
            ("POST", "/api/v1/cases/{id}/receive-info") => {
                // The holder asked; the answer is recorded on the case.
                let (case, holder) = self.held(who).await;
                let (status, asked) = self
                    .d
                    .post(
                        holder,
                        &format!("/api/v1/cases/{case}/request-info"),
                        json!({"question": "Which wallet did they ask you to pay?"}),
                    )
                    .await;
                assert_eq!(status, StatusCode::OK, "{asked}");
                (
                    at(case),
                    Body::Json(json!({"details": "The wallet is bc1q-matrix."})),
                )
            }
            ("POST", "/api/v1/cases/{id}/restriction") => (
                at(self.fresh().await.case),
                Body::Json(json!({"team": "legal", "reason": "A court order names the post."})),
            ),
            ("POST", "/api/v1/cases/{id}/decision") => (
                at(self.held(who).await.0),
                Body::Json(
                    json!({"verdict": "not_violating", "rationale": "An ordinary sales post.",
                                  "actions": [{"kind": "no_action"}]}),
                ),
            ),
            ("GET", "/api/v1/decisions/{id}" | "/api/v1/decisions/{id}/statement") => {
                (at(self.decision), Body::Empty)
            }
            ("POST", "/api/v1/decisions/{id}/approve") => {
                (at(self.held_decision().await), Body::Empty)
            }
            ("POST", "/api/v1/decisions/{id}/reject") => (
                at(self.held_decision().await),
                Body::Json(json!({"reason": "Suspend first; do not disable."})),
            ),
            ("GET", "/api/v1/accounts/{id}/standing") => {
                (template.replace("{id}", &self.account), Body::Empty)
            }
            ("POST", "/api/v1/policies") => (template.into(), Body::Json(new_policy(n))),
            ("GET", "/api/v1/policies/{id}") => (
                template.replace("{id}", "community.fraud_scams"),
                Body::Empty,
            ),
            ("POST", "/api/v1/policies/import") => (template.into(), Body::Toml(policy_book(n))),
            ("POST", "/api/v1/appeals") => {
                let (s, decided) = self.decided(json!([{"kind": "remove"}])).await;
                (
                    template.into(),
                    Body::Json(json!({"decision_id": decided["decision_id"],
                                      "appellant": "affected_user", "appellant_id": s.account,
                                      "statement": "It was a joke between friends."})),
                )
            }
            ("GET", "/api/v1/appeals/{id}") => (at(self.appeal), Body::Empty),
            ("POST", "/api/v1/appeals/{id}/decision") => {
                let (appeal, case) = self.appealed().await;
                self.give(case, who).await;
                (
                    at(appeal),
                    Body::Json(
                        json!({"outcome": "upheld", "rationale": "A scam as decided.",
                                      "explanation": "We looked again: the post asks for money with promised returns."}),
                    ),
                )
            }
            ("POST", "/api/v1/deliveries/{id}/retry") => {
                (at(self.dead_delivery().await), Body::Empty)
            }
            ("POST", "/api/v1/queues/{queue}/claim") => {
                self.fresh().await;
                ("/api/v1/queues/ads_fraud/claim".into(), Body::Empty)
            }
            ("POST", "/api/v1/alerts/{id}/acknowledge") => (
                at(self.open_alert(n).await),
                Body::Json(json!({"outcome": "expected: a product launch"})),
            ),
            ("POST", "/api/v1/consultations/{id}/answer") => (
                at(self.consultation().await),
                Body::Json(json!({"answer": "Unlawful under art. 313-1 Code pénal."})),
            ),
            ("POST", "/api/v1/session") => {
                let who = if caller.is_none() { "spec2" } else { who };
                (
                    template.into(),
                    Body::Json(json!({"username": who, "password": PASSWORD})),
                )
            }
            ("POST", "/api/v1/users") => (
                template.into(),
                Body::Json(json!({"username": format!("matrix_user_{n}"), "role": "qa",
                                  "password": "a long enough password"})),
            ),
            ("POST", "/api/v1/users/{id}/tokens") => (
                at(self.d.id("analyst")),
                Body::Json(json!({"name": format!("matrix-{n}")})),
            ),
            ("POST", "/api/v1/analytics/query") => (
                template.into(),
                Body::Json(json!({"sql": "SELECT status, count(*) FROM cases GROUP BY status"})),
            ),
            ("POST", "/api/v1/analytics/saved") => (
                template.into(),
                Body::Json(
                    json!({"name": format!("matrix {n}"), "sql": "SELECT count(*) FROM cases"}),
                ),
            ),
            ("DELETE", "/api/v1/analytics/saved/{id}") => {
                (at(self.saved_query(who, n).await), Body::Empty)
            }
            ("POST", "/api/v1/banks") => (
                template.into(),
                Body::Json(json!({"name": format!("Matrix bank {n}"),
                                  "policy": "community.child_sexual_exploitation"})),
            ),
            (
                "GET",
                "/api/v1/banks/{id}" | "/api/v1/banks/{id}/entries" | "/api/v1/banks/{id}/export",
            ) => (at(self.bank), Body::Empty),
            ("PATCH", "/api/v1/banks/{id}") => (
                at(self.bank),
                Body::Json(json!({"description": format!("Tuned by the matrix ({n})")})),
            ),
            ("POST", "/api/v1/banks/{id}/entries") => {
                let hash = format!("{:016x}{}", n as u64 + 1, "c3".repeat(24));
                (
                    at(self.bank),
                    Body::Json(json!({"entries": [{"hash": hash}]})),
                )
            }
            ("PATCH", "/api/v1/banks/{id}/entries/{entry_id}") => (
                at(self.bank).replace("{entry_id}", &self.bank_entry_id().await.to_string()),
                Body::Json(json!({"enabled": false})),
            ),
            ("DELETE", "/api/v1/banks/{id}/entries/{entry_id}") => (
                at(self.bank).replace("{entry_id}", &self.bank_entry_id().await.to_string()),
                Body::Empty,
            ),
            ("POST", "/api/v1/banks/{id}/import") => (
                format!("{}?list_name=matrix", at(self.bank)),
                Body::Text(format!("{:016x}{}\n", n as u64 + 1, "e7".repeat(24))),
            ),
            ("GET", "/api/v1/cases/{id}/matches") => (at(self.matched_case), Body::Empty),
            ("POST", "/api/v1/cases/{id}/matches/{match_id}/verdict") => (
                at(self.matched_case).replace("{match_id}", &self.media_match.to_string()),
                Body::Json(json!({"verdict": "true_positive"})),
            ),
            ("GET" | "DELETE", _) if !template.contains('{') => (template.into(), Body::Empty),
            ("POST", "/api/v1/policies/changes/seen" | "/api/v1/alerts/scan") => {
                (template.into(), Body::Empty)
            }
            _ => panic!("no call is prepared for {method} {template}"),
        }
    }

    /// The path and form fields of `caller`'s console request, with what it needs set up.
    async fn console_call(
        &self,
        caller: Option<Role>,
        method: &str,
        template: &str,
    ) -> (String, Vec<(&'static str, String)>) {
        let who = person(caller);
        let at = |id: i64| template.replace("{id}", &id.to_string());
        let n = self.next();
        let text = |s: &str| s.to_string();
        match (method, template) {
            ("POST", "/sign-in") => {
                let who = if caller.is_none() { "spec2" } else { who };
                (
                    template.into(),
                    vec![
                        ("username", text(who)),
                        ("password", text(PASSWORD)),
                        ("next", text("/")),
                    ],
                )
            }
            ("GET", "/static/{file}") => ("/static/console.css".into(), vec![]),
            ("POST", "/queues/{queue}/claim") => {
                self.fresh().await;
                ("/queues/ads_fraud/claim".into(), vec![])
            }
            ("GET", "/cases/{id}") => (at(self.case), vec![]),
            ("POST", "/cases/{id}/notes") => (
                at(self.held(who).await.0),
                vec![("body", text("Seen this wallet before."))],
            ),
            ("POST", "/cases/{id}/release") => (at(self.held(who).await.0), vec![]),
            ("POST", "/cases/{id}/consultations") => (
                at(self.held(who).await.0),
                vec![
                    ("team", text("legal")),
                    ("question", text("Is this lawful in FR?")),
                    ("due_hours", text("12")),
                ],
            ),
            ("GET", "/cases/{id}/policy-panel") => (
                format!("{}?policy=community.fraud_scams@1", at(self.case)),
                vec![],
            ),
            ("POST", "/cases/{id}/decision") => (
                at(self.held(who).await.0),
                vec![
                    ("verdict", text("not_violating")),
                    ("rationale", text("An ordinary sales post.")),
                ],
            ),
            ("POST", "/cases/{id}/decision/preview") => (
                at(self.case),
                vec![
                    ("policy", text("community.fraud_scams@1")),
                    ("verdict", text("violating")),
                    ("rationale", text("Known wallet.")),
                    (
                        "explanation",
                        text("The post asks for money with promised returns."),
                    ),
                    ("action", text("remove")),
                ],
            ),
            ("POST", "/decisions/{id}/approve") => (at(self.held_decision().await), vec![]),
            ("POST", "/decisions/{id}/reject") => (
                at(self.held_decision().await),
                vec![("reason", text("Suspend first; do not disable."))],
            ),
            ("GET", "/search") => ("/search?q=wallet".into(), vec![]),
            ("GET", "/policies/{id}") => ("/policies/community.fraud_scams".into(), vec![]),
            ("GET", "/banks/{id}") => (at(self.bank), vec![]),
            ("POST", "/banks/{id}/import") => (
                at(self.bank),
                vec![
                    (
                        "hashes",
                        format!("{:016x}{}\n", n as u64 + 1, "d9".repeat(24)),
                    ),
                    ("format", text("text")),
                    ("list_name", text("matrix")),
                ],
            ),
            ("POST", "/banks/{id}/entries/{entry_id}/toggle") => (
                at(self.bank).replace("{entry_id}", &self.bank_entry_id().await.to_string()),
                vec![("enabled", text("false"))],
            ),
            ("POST", "/cases/{id}/matches/{match_id}/verdict") => (
                at(self.matched_case).replace("{match_id}", &self.media_match.to_string()),
                vec![("verdict", text("true_positive"))],
            ),
            ("POST", "/consultations/{id}/answer") => (
                at(self.consultation().await),
                vec![("answer", text("Unlawful under art. 313-1 Code pénal."))],
            ),
            ("POST", "/admin/users") => (
                template.into(),
                vec![
                    ("username", format!("matrix_console_{n}")),
                    ("role", text("specialist")),
                    ("password", text("a long enough password")),
                ],
            ),
            ("POST", "/admin/users/{id}/tokens") => (
                at(self.d.id("analyst")),
                vec![("name", format!("matrix-{n}"))],
            ),
            ("POST", "/settings") => (template.into(), vec![("keep_greyscale", text("on"))]),
            ("POST", "/analytics") => (
                template.into(),
                vec![
                    ("sql", text("SELECT count(*) FROM cases")),
                    ("action", text("run")),
                ],
            ),
            ("POST", "/analytics/saved/{id}/delete") => {
                (at(self.saved_query(who, n).await), vec![])
            }
            ("POST", "/alerts/{id}/acknowledge") => (
                at(self.open_alert(n).await),
                vec![("outcome", text("expected: a product launch"))],
            ),
            ("GET", _) | ("POST", "/exposure" | "/sign-out") if !template.contains('{') => {
                (template.into(), vec![])
            }
            _ => panic!("no request is prepared for {method} {template}"),
        }
    }

    fn new_report(&self, n: usize) -> Value {
        report(
            &format!("matrix-intake-{n}"),
            &format!("matrix-reporter-{n}"),
            &format!("matrix-intake-{n}"),
        )
    }
}

/// A new policy of its own, at version 1.
fn new_policy(n: usize) -> Value {
    json!({
        "id": format!("community.matrix_{n}"),
        "version": 1,
        "title": "Matrix rule",
        "effective": "2026-01-01",
        "severity": "low",
        "allowed_actions": ["remove", "no_action"],
        "strike_weight": 0,
        "dsa_category": "STATEMENT_CATEGORY_SCAMS_AND_FRAUD",
        "text": "No wallet scams."
    })
}

/// A policy book with one new policy, as `warden policies export` writes them.
fn policy_book(n: usize) -> String {
    format!(
        r#"[[policies]]
id = "community.matrix_book_{n}"
version = 1
title = "Matrix rule"
effective = "2026-01-01"
severity = "low"
allowed_actions = ["remove", "no_action"]
strike_weight = 0
dsa_category = "STATEMENT_CATEGORY_SCAMS_AND_FRAUD"
text = "No wallet scams."
"#
    )
}
