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

#[test]
fn trends_detect_scores_a_series_row_by_row_and_names_a_bad_line() {
    let dir = std::env::temp_dir().join(format!(
        "warden-trends-{}",
        hex::encode(rand::random::<[u8; 6]>())
    ));
    std::fs::create_dir_all(&dir).unwrap();
    // Three weeks of hourly counts with a daily rhythm, and one hour at ten times the usual.
    let start = chrono::NaiveDate::from_ymd_opt(2026, 3, 2)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap();
    let spike = 24 * 18 + 14;
    let mut csv = String::from("timestamp,value\n");
    for h in 0..24 * 21 {
        let at = start + chrono::TimeDelta::hours(h);
        let usual = 40 + (h % 24 - 12).abs() * 2 + (h * 7919 % 5);
        let count = if h == spike { usual * 10 } else { usual };
        csv.push_str(&format!("{},{count}\n", at.format("%Y-%m-%d %H:%M:%S")));
    }
    let series = dir.join("series.csv");
    std::fs::write(&series, &csv).unwrap();
    let out = dir.join("scored.csv");
    let (code, _, err) = warden_cli(
        &[],
        &[
            "trends",
            "detect",
            "--csv",
            series.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    let scored = std::fs::read_to_string(&out).unwrap();
    let rows: Vec<&str> = scored.lines().collect();
    assert_eq!(rows[0], "timestamp,value,anomaly_score,label");
    assert_eq!(rows.len(), 24 * 21 + 1, "one row per input row");
    let flagged: Vec<usize> = rows[1..]
        .iter()
        .enumerate()
        .filter(|(_, r)| r.ends_with(",1"))
        .map(|(i, _)| i)
        .collect();
    assert!(flagged.contains(&(spike as usize)), "{flagged:?}");
    assert!(flagged.len() <= 2, "{flagged:?}");

    // A bad timestamp: its line and why, exit 2, and nothing written.
    std::fs::write(
        &series,
        "timestamp,value\n2026-03-02 00:00:00,4\nyesterday,5\n",
    )
    .unwrap();
    std::fs::remove_file(&out).unwrap();
    let (code, _, err) = warden_cli(
        &[],
        &[
            "trends",
            "detect",
            "--csv",
            series.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("line 3") && err.contains("yesterday"), "{err}");
    assert!(!out.exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn pdq_hashes_images_and_matches_them_against_a_hash_list() {
    use warden::demo_media::{Version, hash, png};
    let dir = std::env::temp_dir().join(format!(
        "warden-pdq-{}",
        hex::encode(rand::random::<[u8; 6]>())
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let copy = dir.join("copy.png");
    let other = dir.join("other.png");
    std::fs::write(&copy, png(2, Version::NearCopy)).unwrap();
    std::fs::write(&other, png(900, Version::Original)).unwrap();
    let broken = dir.join("broken.jpg");
    std::fs::write(&broken, b"not an image").unwrap();
    let (copy_s, other_s) = (copy.to_string_lossy(), other.to_string_lossy());

    let (code, out, err) = warden_cli(&[], &["pdq", "hash", &copy_s, &other_s], None);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    let fields: Vec<&str> = lines[0].split(' ').collect();
    assert_eq!(fields.len(), 3, "hex quality path: {out}");
    let copy_hash: pdq::Hash256 = fields[0].parse().unwrap();
    assert!(fields[1].parse::<u8>().unwrap() >= 50);
    assert_eq!(fields[2], copy_s);

    let bank = dir.join("bank.txt");
    let banked = hash(2).hash;
    std::fs::write(&bank, format!("# demo\n{banked}\n{}\n", hash(3).hash)).unwrap();
    let bank_s = bank.to_string_lossy();
    let (code, out, err) = warden_cli(
        &[],
        &["pdq", "match", "--bank", &bank_s, &copy_s, &other_s],
        None,
    );
    assert_eq!(code, 0, "{err}");
    let want = format!("{copy_s} {} {banked}", copy_hash.distance(&banked));
    assert!(out.lines().any(|l| l == want), "{out}");
    assert!(out.lines().any(|l| l == format!("{other_s} -")), "{out}");

    let broken_s = broken.to_string_lossy();
    let (code, out, err) = warden_cli(&[], &["pdq", "hash", &copy_s, &broken_s], None);
    assert_ne!(code, 0);
    assert_eq!(
        out.lines().count(),
        1,
        "the good image is still hashed: {out}"
    );
    assert!(err.contains("broken.jpg"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
