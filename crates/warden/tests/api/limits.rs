//! Hostile input and hostile clients: oversized and deeply nested bodies, malformed paths and query
//! strings, slow senders and floods from one credential. Each is refused clearly while everyone
//! else keeps being served.

use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::harness::*;
use warden::config::Config;
use warden::web::MAX_BODY_BYTES;

fn host(d: &TestDesk) -> &str {
    d.base.trim_start_matches("http://")
}

fn is_problem(res: &reqwest::Response) -> bool {
    res.headers()
        .get("content-type")
        .is_some_and(|v| v == "application/problem+json")
}

/// A JSON document of exactly `len` bytes: a note whose body pads it out.
fn json_of_len(len: usize) -> String {
    let frame = r#"{"body":""}"#;
    format!(r#"{{"body":"{}"}}"#, "x".repeat(len - frame.len()))
}

#[tokio::test]
async fn an_oversized_body_is_refused_with_413_naming_the_limit() {
    let d = start().await;
    // One byte over: the server reads the whole body before refusing it, so nothing is left unread
    // on the connection and the answer arrives intact.
    let body = json_of_len(MAX_BODY_BYTES + 1);
    assert_eq!(body.len(), MAX_BODY_BYTES + 1);
    let res = d
        .client
        .post(format!("{}/api/v1/reports", d.base))
        .bearer_auth(&d.tokens["platform"])
        .header("content-type", "application/json")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert!(is_problem(&res), "{:?}", res.headers());
    let (status, problem) = parse(res).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{problem}");
    assert_eq!(problem["code"], "body_too_large");
    let detail = problem["detail"].as_str().unwrap();
    assert!(detail.contains(&MAX_BODY_BYTES.to_string()), "{detail}");

    // A console form the same: the sign-in form needs no session.
    let form = format!(
        "username={}",
        "x".repeat(MAX_BODY_BYTES + 1 - "username=".len())
    );
    let res = d
        .client
        .post(format!("{}/sign-in", d.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .unwrap();
    assert!(is_problem(&res), "{:?}", res.headers());
    let (status, problem) = parse(res).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("body_too_large")),
        "{problem}"
    );
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains(&MAX_BODY_BYTES.to_string())
    );

    // At the limit a body is read and judged on its fields.
    let (status, problem) = d
        .call(
            "platform",
            reqwest::Method::POST,
            "/api/v1/reports",
            Some(serde_json::from_str(&json_of_len(MAX_BODY_BYTES)).unwrap()),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
}

#[tokio::test]
async fn json_nested_thousands_deep_is_refused_as_a_field_error() {
    let d = start().await;
    let depth = 10_000;
    let deep_array = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    let deep_object = format!("{}1{}", r#"{"a":"#.repeat(depth), "}".repeat(depth));
    let in_a_field = report("p-deep", "u-1", "deep").to_string().replacen(
        r#""reach":1200"#,
        &format!(r#""reach":{deep_object}"#),
        1,
    );
    let batch = format!(r#"{{"reports":{deep_array}}}"#);
    for (path, body) in [
        ("/api/v1/reports", deep_array.clone()),
        ("/api/v1/reports", deep_object),
        ("/api/v1/reports", in_a_field),
        ("/api/v1/reports/batch", batch),
    ] {
        let res = d
            .client
            .post(format!("{}{path}", d.base))
            .bearer_auth(&d.tokens["platform"])
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert!(is_problem(&res));
        let (status, problem) = parse(res).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
        assert_eq!(problem["code"], "invalid_fields");
    }
    // A policy book nested as deep, and a key dotted as deep, are refused the same way.
    let deep_toml = format!("a = {}{}", "[".repeat(depth), "]".repeat(depth));
    let dotted = format!("{} = 1", vec!["a"; depth].join("."));
    for book in [deep_toml, dotted] {
        let res = d
            .client
            .post(format!("{}/api/v1/policies/import", d.base))
            .bearer_auth(&d.tokens["lead"])
            .header("content-type", "application/toml")
            .body(book)
            .send()
            .await
            .unwrap();
        let (status, problem) = parse(res).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    }
    // The server is still there.
    assert_eq!(d.get("nobody", "/healthz").await.0, StatusCode::OK);
    assert_eq!(d.count("reports").await, 0);
}

#[tokio::test]
async fn malformed_paths_and_query_strings_get_problem_documents() {
    let d = start().await;
    for (path, status, code) in [
        ("/api/v1/cases/abc", StatusCode::BAD_REQUEST, "invalid_path"),
        (
            "/api/v1/cases/99999999999999999999",
            StatusCode::BAD_REQUEST,
            "invalid_path",
        ),
        (
            "/api/v1/cases?limit=lots",
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_fields",
        ),
        (
            "/api/v1/consultations?status=maybe",
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_fields",
        ),
    ] {
        let res = d
            .client
            .get(format!("{}{path}", d.base))
            .bearer_auth(&d.tokens["lead"])
            .send()
            .await
            .unwrap();
        assert!(is_problem(&res), "{path}: {:?}", res.headers());
        let (got, problem) = parse(res).await;
        assert_eq!(
            (got, problem["code"].as_str()),
            (status, Some(code)),
            "{path}: {problem}"
        );
    }
    let (_, problem) = d.get("lead", "/api/v1/cases?limit=lots").await;
    assert_eq!(fields(&problem), vec!["limit".to_string()], "{problem}");
    // A body of the wrong type, and one that is not UTF-8 where text is expected.
    let res = d
        .client
        .post(format!("{}/api/v1/reports", d.base))
        .bearer_auth(&d.tokens["platform"])
        .header("content-type", "text/plain")
        .body("hello")
        .send()
        .await
        .unwrap();
    assert!(is_problem(&res));
    assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // A console form the same.
    let res = d
        .client
        .post(format!("{}/sign-in", d.base))
        .header("content-type", "text/plain")
        .body("username=x")
        .send()
        .await
        .unwrap();
    assert!(is_problem(&res));
    let (status, problem) = parse(res).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("application/x-www-form-urlencoded"),
        "{problem}"
    );
    let res = d
        .client
        .post(format!("{}/api/v1/policies/import", d.base))
        .bearer_auth(&d.tokens["lead"])
        .header("content-type", "application/toml")
        .body(vec![0xff, 0xfe, 0x00])
        .send()
        .await
        .unwrap();
    assert!(is_problem(&res));
    let (status, problem) = parse(res).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("unreadable_body"))
    );
}

#[tokio::test]
async fn every_operation_documents_its_refusals_as_problem_documents() {
    let d = start().await;
    let (_, spec) = d.get("nobody", "/api/v1/openapi.json").await;
    let mut operations = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            operations += 1;
            let responses = op["responses"].as_object().unwrap();
            let mut expected = vec!["400", "401", "403", "404", "422", "429", "503"];
            if op.get("requestBody").is_some() {
                expected.extend(["408", "413", "415"]);
            }
            for status in expected {
                let content = &responses
                    .get(status)
                    .unwrap_or_else(|| panic!("{method} {path} does not document {status}"))["content"];
                assert!(
                    content.get("application/problem+json").is_some(),
                    "{method} {path} {status}: {content}"
                );
            }
            assert!(
                responses["429"]["headers"].get("Retry-After").is_some(),
                "{method} {path}"
            );
            // No problem is documented as plain JSON.
            for (status, response) in responses {
                if let Some(schema) = response["content"]["application/json"]["schema"].get("$ref")
                {
                    assert!(
                        !schema.as_str().unwrap().ends_with("/Problem"),
                        "{method} {path} {status}"
                    );
                }
            }
        }
    }
    assert!(operations > 40, "{operations}");
}

/// Opens a connection and sends the start of a request's headers, then one more byte of a header
/// every 100 ms, never finishing. Returns how long the server kept the connection open, or None if
/// it was still open at `give_up`.
async fn dribble_headers(
    address: String,
    started: tokio::sync::mpsc::Sender<()>,
    give_up: Instant,
) -> Option<Duration> {
    let opened = Instant::now();
    let mut stream = TcpStream::connect(&address).await.ok()?;
    let start = format!("GET /healthz HTTP/1.1\r\nHost: {address}\r\nX-Slow: ");
    stream.write_all(start.as_bytes()).await.ok()?;
    started.send(()).await.ok()?;
    let mut buf = [0u8; 512];
    loop {
        tokio::select! {
            read = stream.read(&mut buf) => match read {
                Ok(n) if n > 0 => continue,
                _ => return Some(opened.elapsed()),
            },
            () = tokio::time::sleep(Duration::from_millis(100)) => {
                if stream.write_all(b"a").await.is_err() {
                    return Some(opened.elapsed());
                }
            }
        }
        if Instant::now() > give_up {
            return None;
        }
    }
}

#[tokio::test]
async fn slow_senders_are_cut_off_while_others_are_served() {
    let mut config = Config::default();
    config.limits.header_read_seconds = 5;
    config.limits.body_read_seconds = 2;
    let d = start_with(config).await;
    let attackers = 200;
    let give_up = Instant::now() + Duration::from_secs(30);
    let (started, mut attacking) = tokio::sync::mpsc::channel(attackers);
    let tasks: Vec<_> = (0..attackers)
        .map(|_| {
            tokio::spawn(dribble_headers(
                host(&d).to_string(),
                started.clone(),
                give_up,
            ))
        })
        .collect();
    drop(started);
    for _ in 0..attackers {
        attacking.recv().await.expect("every attacker connects");
    }
    tokio::time::sleep(Duration::from_millis(200)).await;

    // While they hold their connections, an ordinary client is served.
    for _ in 0..10 {
        let res = tokio::time::timeout(
            Duration::from_secs(5),
            d.client
                .get(format!("{}/api/v1/queues", d.base))
                .bearer_auth(&d.tokens["lead"])
                .send(),
        )
        .await
        .expect("an ordinary request is answered during the attack")
        .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
    }
    let still_open = tasks.iter().filter(|t| !t.is_finished()).count();
    assert_eq!(
        still_open, attackers,
        "the attackers were holding their connections while the client was served"
    );

    // Each is cut off once its headers are overdue, though it never stopped sending.
    for task in tasks {
        let held = task.await.unwrap().expect("a slow sender is disconnected");
        assert!(held >= Duration::from_millis(4900), "closed after {held:?}");
    }

    // A body trickling in is refused with 408 once it is overdue.
    let mut stream = TcpStream::connect(host(&d)).await.unwrap();
    let head = format!(
        "POST /api/v1/reports HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{",
        host(&d),
        d.tokens["platform"]
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        tokio::select! {
            read = stream.read(&mut buf) => match read {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
            },
            () = tokio::time::sleep(Duration::from_millis(100)), if answer.is_empty() => {
                let _ = stream.write_all(b" ").await;
            }
        }
        assert!(Instant::now() < give_up, "no answer to a trickling body");
    }
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"body_timeout\""), "{answer}");
}

async fn me(d: &TestDesk, auth: (&str, &str)) -> reqwest::Response {
    d.client
        .get(format!("{}/api/v1/me", d.base))
        .header(auth.0, auth.1)
        .send()
        .await
        .unwrap()
}

/// Sends `n` requests one after another; returns how many were refused as rate-limited, checking
/// that each refusal says when to come back.
async fn flood(d: &TestDesk, n: usize, auth: (&str, &str)) -> usize {
    let mut limited = 0;
    for _ in 0..n {
        let res = me(d, auth).await;
        if res.status() == StatusCode::TOO_MANY_REQUESTS {
            let retry: u64 = res.headers()["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!((1..=60).contains(&retry), "{retry}");
            assert!(is_problem(&res));
            let (_, problem) = parse(res).await;
            assert_eq!(problem["code"], "rate_limited", "{problem}");
            limited += 1;
        } else {
            assert_eq!(res.status(), StatusCode::OK);
        }
    }
    limited
}

#[tokio::test]
async fn a_flood_from_one_credential_is_refused_while_others_are_served() {
    let mut config = Config::default();
    config.limits.requests_per_second = 1;
    config.limits.burst = 5;
    config.limits.anonymous_requests_per_second = 1;
    config.limits.anonymous_burst = 6;
    let d = start_with(config).await;
    let bearer = |who: &str| format!("Bearer {}", d.tokens[who]);

    // A console session, opened before the floods.
    let res = d
        .client
        .post(format!("{}/api/v1/session", d.base))
        .json(&json!({"username": "spec2", "password": "correct horse battery"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let session = session_cookie(&res)
        .and_then(|c| c.split(';').next())
        .unwrap()
        .to_string();

    // One token floods: past its burst it is refused.
    let spec = bearer("spec");
    assert!(flood(&d, 30, ("authorization", &spec)).await > 0);
    // Another token is served meanwhile, and the flooding one is still refused.
    assert_eq!(
        me(&d, ("authorization", &bearer("lead"))).await.status(),
        StatusCode::OK
    );
    // At one a second, at most one of a few more gets through.
    assert!(flood(&d, 3, ("authorization", &spec)).await >= 2);

    // A console session is counted on its own.
    assert!(flood(&d, 30, ("cookie", &session)).await > 0);
    assert_eq!(
        me(&d, ("authorization", &bearer("lead"))).await.status(),
        StatusCode::OK
    );

    // Without a credential, requests count per client address: a sign-in flood over many
    // usernames is refused, while the tokens are still served.
    let mut limited = Vec::new();
    for i in 0..20 {
        let res = d
            .client
            .post(format!("{}/api/v1/session", d.base))
            .json(&json!({"username": format!("guess-{i}"), "password": "guess"}))
            .send()
            .await
            .unwrap();
        let status = res.status();
        let (_, body) = parse(res).await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            limited.push(body["code"].clone());
        } else {
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        }
    }
    assert!(!limited.is_empty());
    assert!(limited.iter().all(|c| c == &Value::from("rate_limited")));
    assert_eq!(
        me(&d, ("authorization", &bearer("lead"))).await.status(),
        StatusCode::OK
    );
    // Made-up tokens are counted against their address too.
    let refused = {
        let mut n = 0;
        for i in 0..20 {
            let res = me(&d, ("authorization", &format!("Bearer made-up-{i}"))).await;
            if res.status() == StatusCode::TOO_MANY_REQUESTS {
                n += 1;
            }
        }
        n
    };
    assert!(refused > 0);
}

#[tokio::test]
async fn many_new_genuine_tokens_behind_one_address_are_served_at_once() {
    let mut config = Config::default();
    config.limits.anonymous_requests_per_second = 1;
    config.limits.anonymous_burst = 3;
    let d = start_with(config).await;
    // Forty reviewers' tools behind one proxy, each with a token of its own, start together:
    // far more than the address may send without a credential.
    let mut tokens = Vec::new();
    for i in 0..40 {
        let token = warden::access::identity::create_token(
            &d.desk,
            warden::store::cases::Who::SYSTEM,
            d.id("spec"),
            &format!("tool-{i}"),
        )
        .await
        .unwrap();
        tokens.push(format!("Bearer {token}"));
    }
    let sent: Vec<_> = tokens
        .into_iter()
        .map(|token| {
            let request = d
                .client
                .get(format!("{}/api/v1/me", d.base))
                .header("authorization", token);
            tokio::spawn(async move { request.send().await.unwrap().status() })
        })
        .collect();
    let mut statuses = Vec::new();
    for s in sent {
        statuses.push(s.await.unwrap());
    }
    assert!(
        statuses.iter().all(|s| *s == StatusCode::OK),
        "{statuses:?}"
    );
    // The address's own allowance is untouched by them.
    for _ in 0..3 {
        let res = d
            .client
            .get(format!("{}/api/v1/me", d.base))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
}
