//! The `warden` command line.

use clap::{Parser, Subcommand};
use std::io::Read;
use std::path::PathBuf;

use crate::access::Role;
use crate::access::identity::{self, UserInput};
use crate::config::{Config, DEFAULT_CONFIG};
use crate::desk::Desk;
use crate::error::{Error, FieldError, Result};
use crate::store::Db;
use crate::store::cases::Who;
use crate::store::users;

#[derive(Debug, Parser)]
#[command(
    name = "warden",
    version,
    about = "The escalations desk of a Trust & Safety team"
)]
pub struct Cli {
    /// SQLite file path or URL (sqlite://…), or a PostgreSQL URL (postgres://…).
    #[arg(
        long,
        global = true,
        env = "WARDEN_DATABASE_URL",
        default_value = "warden.db"
    )]
    pub database_url: String,
    /// Desk configuration (TOML); without it the built-in desk is used.
    #[arg(long, global = true, env = "WARDEN_CONFIG")]
    pub config: Option<PathBuf>,
    /// Database connections per pool.
    #[arg(
        long,
        global = true,
        env = "WARDEN_DB_CONNECTIONS",
        default_value_t = 16
    )]
    pub db_connections: u32,
    /// Seconds a request waits for a database connection before it is answered 503 (default: 30
    /// on SQLite, 5 on PostgreSQL).
    #[arg(long, global = true, env = "WARDEN_DB_ACQUIRE_TIMEOUT_SECS")]
    pub db_acquire_timeout_secs: Option<u64>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API.
    Serve {
        #[arg(long, env = "WARDEN_LISTEN", default_value = "127.0.0.1:8080")]
        listen: String,
    },
    /// Run Warden with a week of demo data on its own SQLite file, and print the logins.
    Demo {
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
        /// Number of demo reports to generate (on first start only).
        #[arg(long, default_value_t = 2400)]
        reports: usize,
    },
    /// Add demo users and reports to the database.
    Seed {
        #[arg(long, default_value_t = 2400)]
        reports: usize,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Print the built-in configuration, a starting point for your own.
    Config,
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Import or export the policy registry as a policy book (TOML).
    Policies {
        #[command(subcommand)]
        command: PoliciesCommand,
    },
    /// Export data for others, such as statements of reasons for the Transparency Database.
    Export {
        #[command(subcommand)]
        command: ExportCommand,
    },
    /// Run one read-only query over the analysts' views (the checker and limits of the SQL
    /// console) and print the rows as an aligned table, or CSV with --csv. Without --as, the
    /// query sees unrestricted cases only; with it, what that user would see, if their role may
    /// run analytics. A refused query exits with status 2.
    Sql {
        /// The query, e.g. "SELECT queue, count(*) FROM cases GROUP BY queue".
        sql: String,
        /// Run as this user: their teams decide which restricted cases take part.
        #[arg(long = "as", value_name = "USERNAME")]
        as_user: Option<String>,
        /// Print CSV (a header line, then one line per row) instead of a table.
        #[arg(long)]
        csv: bool,
    },
    /// Reports for people who read rather than query.
    Report {
        #[command(subcommand)]
        command: ReportCommand,
    },
    /// Spike and trend detection.
    Trends {
        #[command(subcommand)]
        command: TrendsCommand,
    },
    /// PDQ perceptual hashes of images, and matching them against a hash list.
    Pdq {
        #[command(subcommand)]
        command: PdqCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum PdqCommand {
    /// Print `hex quality path` for each image, as the reference tool does (JPEG, PNG, WebP,
    /// GIF, BMP; EXIF orientation honoured).
    Hash {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Match images against a hash list (one hex hash per line, or CSV with a `hash` column when
    /// the file ends in .csv): prints `path distance bank_hash` for each match, nearest first, or
    /// `path -` for an image that matches nothing.
    Match {
        /// The hash list to match against.
        #[arg(long)]
        bank: PathBuf,
        /// The greatest Hamming distance that counts as a match.
        #[arg(long, default_value_t = crate::matching::DEFAULT_THRESHOLD)]
        max_distance: u32,
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// A self-contained HTML report (charts inline) of a week: volumes, SLA, top policies and
    /// regions, alerts and what came of them, and a transparency summary of the week's
    /// statements of reasons by DSA category, ground and automation.
    Weekly {
        /// The last day of the week (YYYY-MM-DD, UTC); yesterday without it.
        #[arg(long)]
        week_ending: Option<String>,
        /// The file to write; standard output without it.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum TrendsCommand {
    /// Score a `timestamp,value` series (CSV with a header), strictly online: writes
    /// `timestamp,value,anomaly_score,label` with one row per input row, label 1 where the
    /// detector would alert.
    Detect {
        /// The series to read.
        #[arg(long)]
        csv: PathBuf,
        /// The file to write; standard output without it.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum PoliciesCommand {
    /// Add the versions in a policy book; all of it or nothing.
    Import { file: PathBuf },
    /// Write every version of every policy as a policy book.
    Export {
        /// The file to write; standard output without it.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// Statements of reasons issued since a day, as `{"statements":[…]}` batches of at most 100,
    /// ready for the Transparency Database API (`POST /api/v1/statements`).
    Statements {
        /// The first day to include (YYYY-MM-DD, UTC).
        #[arg(long)]
        since: String,
        /// A directory to write one file per batch into; without it, one batch per line on
        /// standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user. The password is read from standard input when --password-stdin is given.
    Add {
        username: String,
        #[arg(long)]
        role: String,
        #[arg(long, value_delimiter = ',')]
        teams: Vec<String>,
        #[arg(long)]
        display_name: Option<String>,
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create an API token for a user and print it (shown once).
    Create {
        username: String,
        #[arg(long, default_value = "cli")]
        name: String,
    },
}

async fn open(cli: &Cli, url: &str) -> Result<Desk> {
    let config = match &cli.config {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    let acquire_timeout = cli
        .db_acquire_timeout_secs
        .map(std::time::Duration::from_secs);
    let db = Db::connect_with(url, cli.db_connections, acquire_timeout).await?;
    db.migrate().await?;
    Ok(Desk::new(db, config))
}

/// Hashes each file, printing one line per result; an unreadable image is reported and the
/// rest go on, and the command fails at the end if any could not be hashed.
fn pdq_command(command: &PdqCommand) -> Result<()> {
    let (files, bank) = match command {
        PdqCommand::Hash { files } => (files, None),
        PdqCommand::Match {
            bank,
            max_distance,
            files,
        } => {
            if *max_distance > 256 {
                return Err(Error::field("max_distance", "must be at most 256"));
            }
            let text = std::fs::read_to_string(bank).map_err(|e| {
                Error::field("bank", format!("cannot read {}: {e}", bank.display()))
            })?;
            let format = if bank
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
            {
                crate::matching::ListFormat::Csv
            } else {
                crate::matching::ListFormat::Text
            };
            let listed = crate::matching::parse_hash_list(&text, format).map_err(|errors| {
                Error::Invalid(errors.into_iter().map(|e| e.under("bank")).collect())
            })?;
            let index: pdq::HashIndex = listed.iter().map(|h| h.hash).collect();
            (files, Some((index, *max_distance)))
        }
    };
    let mut hasher = pdq::Hasher::new();
    let mut failed = 0;
    for path in files {
        match hasher.hash_image_file(path) {
            Ok(h) => match &bank {
                None => println!("{} {} {}", h.hash, h.quality, path.display()),
                Some((index, max_distance)) => {
                    let found = index.search(&h.hash, *max_distance);
                    if found.is_empty() {
                        println!("{} -", path.display());
                    }
                    for m in found {
                        let banked = index.get(m.position).unwrap_or_default();
                        println!("{} {} {banked}", path.display(), m.distance);
                    }
                }
            },
            Err(e) => {
                failed += 1;
                eprintln!("{}: {e}", path.display());
            }
        }
    }
    if failed > 0 {
        return Err(Error::field(
            "files",
            format!("{failed} of {} images could not be hashed", files.len()),
        ));
    }
    Ok(())
}

pub async fn run(cli: Cli) -> Result<()> {
    match &cli.command {
        Command::Trends {
            command: TrendsCommand::Detect { csv, out },
        } => detect_trends(csv, out.as_deref()),
        Command::Pdq { command } => pdq_command(command),
        Command::Serve { listen } => {
            let desk = open(&cli, &cli.database_url).await?;
            serve(desk, listen).await
        }
        Command::Demo { listen, reports } => {
            // The demo keeps its own file unless told otherwise, so it never touches real data.
            let url = if cli.database_url == "warden.db" {
                "warden-demo.db".to_string()
            } else {
                cli.database_url.clone()
            };
            let desk = open(&cli, &url).await?;
            // The demo's reported pictures are served by the demo itself, so it fetches from there.
            let desk = if desk.config.media.fetch_hosts.is_empty() {
                let mut config = (*desk.config).clone();
                let host = listen.rsplit_once(':').map_or(listen.as_str(), |(h, _)| h);
                config.media.fetch_hosts = vec![host.to_string()];
                Desk::new(desk.db.clone(), config)
            } else {
                desk
            };
            // Without a platform of its own, the demo delivers to a simulated one it serves itself.
            let secret = hex::encode(rand::random::<[u8; 16]>());
            let simulated = desk.config.delivery.endpoint.is_none();
            let desk = if simulated {
                let mut config = (*desk.config).clone();
                config.delivery.endpoint = Some(format!("http://{listen}/demo/platform/webhook"));
                config.delivery.secret = Some(secret.clone());
                Desk::new(desk.db.clone(), config)
            } else {
                desk
            };
            if users::list_users(&desk.db).await?.is_empty() {
                eprintln!("Creating demo data ({reports} reports over the past week)…");
                let started = std::time::Instant::now();
                crate::demo::seed_with_media(
                    &desk,
                    *reports,
                    desk.now(),
                    &format!("http://{listen}/demo/media"),
                )
                .await?;
                eprintln!(
                    "Demo data ready in {:.1}s.",
                    started.elapsed().as_secs_f64()
                );
            }
            println!("Warden demo on {url}");
            println!("  Console:  http://{listen}/  (sign in with a login below)");
            println!("  API:      http://{listen}/api/v1/openapi.json");
            println!("  Logins (the API also takes them at POST /api/v1/session):");
            for (name, role, teams) in crate::demo::DEMO_USERS {
                if *role != Role::Integration {
                    let teams = if teams.is_empty() {
                        String::new()
                    } else {
                        format!(" (teams: {})", teams.join(", "))
                    };
                    println!(
                        "    {name:<18} {:<11} password {}{teams}",
                        role.as_str(),
                        crate::demo::DEMO_PASSWORD
                    );
                }
            }
            println!(
                "  Integrations: `warden --database-url {url} token create platform` prints an API token."
            );
            if simulated {
                println!(
                    "  Platform: webhooks go to a simulated platform; see what it received at http://{listen}/demo/platform"
                );
            }
            let sim = simulated.then(|| crate::web::platform_sim::router(secret));
            serve_with(desk, listen, sim).await
        }
        Command::Seed { reports } => {
            let desk = open(&cli, &cli.database_url).await?;
            let seeded = crate::demo::seed(&desk, *reports, desk.now()).await?;
            println!(
                "seeded {} users and {} reports",
                seeded.users.len(),
                seeded.reports
            );
            Ok(())
        }
        Command::Sql { sql, as_user, csv } => {
            let desk = open(&cli, &cli.database_url).await?;
            let table = match as_user {
                Some(name) => {
                    let user = users::user_by_name(&desk.db, name)
                        .await?
                        .ok_or_else(|| Error::field("as", format!("no user named {name}")))?;
                    if user.disabled {
                        return Err(Error::field("as", format!("{name} is disabled")));
                    }
                    crate::analytics::run(&desk, &user.actor(), sql).await?
                }
                None => crate::analytics::run_as_operator(&desk, sql).await?,
            };
            if *csv {
                print!("{}", crate::analytics::to_csv(&table));
            } else {
                print!("{}", crate::analytics::to_text(&table));
            }
            desk.db.close().await;
            Ok(())
        }
        Command::Migrate => {
            open(&cli, &cli.database_url).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::Config => {
            print!("{DEFAULT_CONFIG}");
            Ok(())
        }
        Command::User {
            command:
                UserCommand::Add {
                    username,
                    role,
                    teams,
                    display_name,
                    password_stdin,
                },
        } => {
            let desk = open(&cli, &cli.database_url).await?;
            let role = Role::parse(role).ok_or_else(|| {
                Error::field(
                    "role",
                    "must be one of admin, lead, specialist, qa, analyst, partner, integration",
                )
            })?;
            let password = if *password_stdin {
                let mut s = String::new();
                std::io::stdin()
                    .read_to_string(&mut s)
                    .map_err(|e| Error::field("password", e.to_string()))?;
                Some(s.trim_end_matches(['\r', '\n']).to_string())
            } else {
                None
            };
            let user = identity::create_user(
                &desk,
                Who {
                    id: None,
                    name: "cli",
                },
                UserInput {
                    username: username.clone(),
                    display_name: display_name.clone(),
                    role,
                    teams: teams.clone(),
                    password,
                },
            )
            .await?;
            println!(
                "user {} created with id {} and role {}",
                user.username,
                user.id,
                user.role.as_str()
            );
            Ok(())
        }
        Command::Policies {
            command: PoliciesCommand::Import { file },
        } => {
            let desk = open(&cli, &cli.database_url).await?;
            let text = std::fs::read_to_string(file).map_err(|e| {
                Error::field("file", format!("cannot read {}: {e}", file.display()))
            })?;
            let book = crate::domain::policy::PolicyBook::from_toml(&text)?;
            let summary = crate::policies::import(
                &desk,
                Who {
                    id: None,
                    name: "cli",
                },
                &book,
            )
            .await?;
            println!(
                "{} policy versions added, {} already present",
                summary.added.len(),
                summary.unchanged.len()
            );
            Ok(())
        }
        Command::Policies {
            command: PoliciesCommand::Export { out },
        } => {
            let desk = open(&cli, &cli.database_url).await?;
            let book = crate::policies::export(&desk).await?;
            write_out(out.as_deref(), &book.to_toml())
        }
        Command::Export {
            command: ExportCommand::Statements { since, out },
        } => {
            let since = chrono::NaiveDate::parse_from_str(since, "%Y-%m-%d")
                .map_err(|_| Error::field("since", "must be a day, YYYY-MM-DD"))?;
            let desk = open(&cli, &cli.database_url).await?;
            let (statements, batches) = export_statements(&desk, since, out.as_deref()).await?;
            eprintln!("{statements} statements in {batches} batches");
            Ok(())
        }
        Command::Report {
            command: ReportCommand::Weekly { week_ending, out },
        } => {
            let last_day = week_ending
                .as_deref()
                .map(|d| {
                    chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
                        .map_err(|_| Error::field("week_ending", "must be a day, YYYY-MM-DD"))
                })
                .transpose()?;
            let desk = open(&cli, &cli.database_url).await?;
            let last_day =
                last_day.unwrap_or_else(|| (desk.now() - chrono::TimeDelta::days(1)).date_naive());
            let html = crate::analytics::report::weekly(&desk, last_day).await?;
            match out {
                Some(path) => {
                    std::fs::write(path, &html).map_err(|e| {
                        Error::field("out", format!("cannot write {}: {e}", path.display()))
                    })?;
                    eprintln!(
                        "weekly report for the week ending {last_day} written to {}",
                        path.display()
                    );
                }
                None => print!("{html}"),
            }
            desk.db.close().await;
            Ok(())
        }
        Command::Token {
            command: TokenCommand::Create { username, name },
        } => {
            let desk = open(&cli, &cli.database_url).await?;
            let user = users::user_by_name(&desk.db, username)
                .await?
                .ok_or(Error::NotFound("user"))?;
            let token = identity::create_token(
                &desk,
                Who {
                    id: None,
                    name: "cli",
                },
                user.id,
                name,
            )
            .await?;
            println!("{token}");
            Ok(())
        }
    }
}

fn write_out(out: Option<&std::path::Path>, text: &str) -> Result<()> {
    match out {
        Some(path) => std::fs::write(path, text)
            .map_err(|e| Error::field("out", format!("cannot write {}: {e}", path.display()))),
        None => {
            print!("{text}");
            Ok(())
        }
    }
}

/// Writes the statements issued since `since` in batches; returns (statements, batches).
pub async fn export_statements(
    desk: &Desk,
    since: chrono::NaiveDate,
    out: Option<&std::path::Path>,
) -> Result<(usize, usize)> {
    let since = since.and_time(chrono::NaiveTime::MIN).and_utc();
    if let Some(dir) = out {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::field("out", format!("cannot create {}: {e}", dir.display())))?;
    }
    let (mut after, mut statements, mut written) = (0, 0, 0);
    loop {
        let page = crate::store::enforcement::statements_since(
            &desk.db,
            since,
            after,
            transparency::MAX_BATCH as i64,
        )
        .await?;
        let Some((last, _)) = page.last() else { break };
        after = *last;
        let batch = transparency::Batch {
            statements: page.into_iter().map(|(_, s)| s).collect(),
        };
        batch.validate().map_err(|v| {
            Error::Internal(format!(
                "a stored statement is not valid for the Transparency Database: {}",
                v.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ")
            ))
        })?;
        statements += batch.statements.len();
        written += 1;
        let json = serde_json::to_string(&batch)?;
        match out {
            Some(dir) => {
                let path = dir.join(format!("statements-{written:04}.json"));
                std::fs::write(&path, json).map_err(|e| {
                    Error::field("out", format!("cannot write {}: {e}", path.display()))
                })?;
            }
            None => println!("{json}"),
        }
    }
    Ok((statements, written))
}

async fn serve(desk: Desk, listen: &str) -> Result<()> {
    serve_with(desk, listen, None).await
}

async fn serve_with(desk: Desk, listen: &str, extra: Option<axum::Router>) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| Error::field("listen", format!("cannot listen on {listen}: {e}")))?;
    tracing::info!(address = %listen, "serving");
    crate::web::serve_with(desk, listener, shutdown_signal(), extra)
        .await
        .map_err(|e| Error::Internal(e.to_string()))
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

/// `warden trends detect`: the detector's defaults over one series. The output is written only
/// once the whole series has been read, so a bad row (named by its line) leaves nothing behind.
fn detect_trends(csv: &std::path::Path, out: Option<&std::path::Path>) -> Result<()> {
    let invalid =
        |message: String| Error::Invalid(vec![FieldError::new(csv.display().to_string(), message)]);
    let input = std::fs::File::open(csv).map_err(|e| invalid(format!("cannot be read: {e}")))?;
    let mut written = Vec::new();
    let summary = trends::detect_csv(
        std::io::BufReader::new(input),
        &mut written,
        &trends::DetectorConfig::default(),
    )
    .map_err(|e| invalid(e.to_string()))?;
    let write = match out {
        Some(path) => std::fs::write(path, written),
        None => std::io::Write::write_all(&mut std::io::stdout().lock(), &written),
    };
    write.map_err(|e| {
        Error::Invalid(vec![FieldError::new(
            "out",
            format!("cannot be written: {e}"),
        )])
    })?;
    eprintln!("{} rows, {} flagged", summary.rows, summary.flagged);
    Ok(())
}
