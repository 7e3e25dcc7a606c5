//! The `warden` binary as an operator uses it: separate processes talking over real HTTP.

use std::process::{Command, Stdio};

use crate::harness::{Killed, warden_cli};
use std::time::Duration;

fn warden(db: &str, args: &[&str], stdin: Option<&str>) -> (i32, String, String) {
    warden_cli(&["--database-url", db], args, stdin)
}

#[tokio::test]
async fn an_operator_adds_a_user_issues_a_token_and_serves() {
    let dir = std::env::temp_dir().join(format!(
        "warden-cli-{}",
        hex::encode(rand::random::<[u8; 6]>())
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("desk.db").to_string_lossy().to_string();

    let (code, out, err) = warden(
        &db,
        &["user", "add", "ops", "--role", "admin", "--password-stdin"],
        Some("a long enough password\n"),
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("user ops created"), "{out}");
    let (code, _, err) = warden(
        &db,
        &[
            "user",
            "add",
            "ops2",
            "--role",
            "overlord",
            "--password-stdin",
        ],
        Some("a long enough password\n"),
    );
    assert_eq!(code, 2);
    assert!(err.contains("role"), "{err}");
    let (code, _, err) = warden(
        &db,
        &["user", "add", "ops", "--role", "admin", "--password-stdin"],
        Some("a long enough password\n"),
    );
    assert_eq!(code, 2);
    assert!(err.contains("username: is already taken"), "{err}");
    let (code, token, err) = warden(&db, &["token", "create", "ops", "--name", "laptop"], None);
    assert_eq!(code, 0, "{err}");
    let token = token.trim().to_string();
    assert!(token.starts_with("wdn_"), "{token}");

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let _server = Killed(
        Command::new(env!("CARGO_BIN_EXE_warden"))
            .args(["--database-url", &db, "serve", "--listen", &listen])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let client = crate::harness::http_client();
    let mut healthy = false;
    for _ in 0..100 {
        if client
            .get(format!("http://{listen}/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            healthy = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(healthy, "the server came up");
    let me: serde_json::Value = client
        .get(format!("http://{listen}/api/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["username"], "ops");
    assert_eq!(me["role"], "admin");
    let _ = std::fs::remove_dir_all(&dir);
}
