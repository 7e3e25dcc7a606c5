//! The `warden` binary as an operator uses it: separate processes talking over real HTTP.

use crate::harness::{free_address, serve_warden, warden_cli};

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

    let listen = free_address();
    let _server = serve_warden(&["--database-url", &db], &listen).await;
    let client = crate::harness::http_client();
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
