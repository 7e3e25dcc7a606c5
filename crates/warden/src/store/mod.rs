//! Storage on SQLite (embedded, the default) or PostgreSQL, through one set of portable SQL.
//!
//! Values are kept to types both engines share: BIGINT (ids, times in epoch milliseconds, flags),
//! TEXT (names, JSON). Each change appends events and rewrites the projections it touches in the
//! same transaction.

pub mod alerts;
pub mod analytics;
pub mod banks;
pub mod cases;
pub mod console;
pub mod enforcement;
pub mod kpis;
pub mod rows;
pub mod search;
pub mod users;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, Connection, Database, Executor};
use sqlx_core::transaction::TransactionManager;
use std::ops::{Deref, DerefMut};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, OwnedMappedMutexGuard, OwnedMutexGuard};

use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// The database: a writer and a reader pool. On SQLite the writer is one connection, so writes
/// queue in the process instead of failing with SQLITE_BUSY; on PostgreSQL both are one pool.
#[derive(Clone, Debug)]
pub struct Db {
    pub engine: Engine,
    write: Writer,
    read: AnyPool,
    /// Where the database is, for connections of their own (analysts' read-only queries).
    url: String,
}

/// Where transactions that write run.
#[derive(Clone, Debug)]
enum Writer {
    /// SQLite's one writer connection, held by one transaction at a time, first come first
    /// served; `None` once closed. Not a pool of one: a pool tests each connection that comes
    /// back to it, a round trip to SQLite's thread that the next writer in line would wait for.
    One {
        conn: Arc<Mutex<Option<AnyConnection>>>,
        /// How long a transaction waits for the connection before it is answered 503.
        wait: Duration,
    },
    Pool(AnyPool),
}

/// A transaction that writes: rolled back when dropped without [`Tx::commit`].
pub struct Tx {
    conn: WriteConn,
    open: bool,
}

/// A connection that writes, held until dropped.
pub enum WriteConn {
    One(OwnedMappedMutexGuard<Option<AnyConnection>, AnyConnection>),
    Pool(PoolConnection<Any>),
}

type Manager = <Any as Database>::TransactionManager;

impl Tx {
    async fn begin(mut conn: WriteConn) -> Result<Self> {
        Manager::begin(&mut conn, None).await?;
        Ok(Self { conn, open: true })
    }

    pub async fn commit(mut self) -> std::result::Result<(), sqlx::Error> {
        Manager::commit(&mut self.conn).await?;
        self.open = false;
        Ok(())
    }
}

impl Deref for WriteConn {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        match self {
            WriteConn::One(c) => c,
            WriteConn::Pool(c) => c,
        }
    }
}

impl DerefMut for WriteConn {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match self {
            WriteConn::One(c) => c,
            WriteConn::Pool(c) => c,
        }
    }
}

impl Deref for Tx {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        &self.conn
    }
}

impl DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.conn
    }
}

impl Drop for Tx {
    fn drop(&mut self) {
        if self.open {
            // Queued on the connection, ahead of whatever its next holder sends.
            Manager::start_rollback(&mut self.conn);
        }
    }
}

/// A bound value for queries assembled at run time.
#[derive(Debug, Clone)]
pub enum Arg {
    Int(i64),
    Text(String),
    /// A column that may be NULL; typed, since PostgreSQL will not put a NULL of one type in a
    /// column of another.
    MaybeInt(Option<i64>),
    MaybeText(Option<String>),
}

/// Turns a `--database-url` or a bare file path into a URL sqlx understands.
pub fn normalize_url(url: &str) -> String {
    if url.starts_with("postgres://")
        || url.starts_with("postgresql://")
        || url.starts_with("sqlite:")
    {
        url.to_string()
    } else {
        format!("sqlite://{url}")
    }
}

/// How long a request waits for a connection before it is answered 503 on SQLite, whose one
/// writer connection queues every write in the process: a long queue is load, not an outage.
pub const SQLITE_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);
/// The same on PostgreSQL, where the wait also covers reconnecting to a server that went away:
/// short, so a client hears 503 within a few seconds instead of hanging while it restarts.
pub const POSTGRES_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

impl Db {
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self> {
        Self::connect_with(url, max_connections, None).await
    }

    /// As [`Db::connect`], waiting at most `acquire_timeout` for a connection (the engine's
    /// default without it) before a request fails as [`Error::Unavailable`].
    pub async fn connect_with(
        url: &str,
        max_connections: u32,
        acquire_timeout: Option<Duration>,
    ) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let url = normalize_url(url);
        if url.starts_with("sqlite:") {
            let url = if url.contains('?') {
                url
            } else {
                format!("{url}?mode=rwc")
            };
            let options = AnyConnectOptions::from_str(&url)
                .map_err(|e| Error::field("database_url", e.to_string()))?;
            // WAL lets readers run beside the one writer. FULL sync makes every commit durable
            // before the reply, even across a power loss: an acknowledged report is never lost.
            // Checkpoints run beside the writer (see `checkpoint_beside`), not inside the commit
            // that happens to fill the log; the writer copies the log itself only past a
            // backstop, so a process that writes a lot and exits (a bulk load, a short CLI
            // command) leaves a short log for the next one to read at open. A statement's undo
            // journal (each multi-row write keeps one until it ends) stays in memory rather than
            // spilling to a temporary file.
            let pragmas = format!(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                 PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON; \
                 PRAGMA wal_autocheckpoint = {WAL_BACKSTOP_PAGES}; PRAGMA temp_store = MEMORY;"
            );
            let mut writer = AnyConnection::connect_with(&options).await?;
            writer.execute(sqlx::AssertSqlSafe(pragmas.clone())).await?;
            let read = AnyPoolOptions::new()
                .max_connections(max_connections.max(2))
                .acquire_timeout(acquire_timeout.unwrap_or(SQLITE_ACQUIRE_TIMEOUT))
                // A file opened in this process does not go away between two uses: testing it
                // before each would cost a round trip to its thread for nothing.
                .test_before_acquire(false)
                .after_connect(move |conn, _| {
                    let pragmas = pragmas.clone();
                    Box::pin(async move {
                        conn.execute(sqlx::AssertSqlSafe(pragmas)).await?;
                        Ok(())
                    })
                })
                .connect_with(options)
                .await?;
            tokio::spawn(checkpoint_beside(read.clone()));
            Ok(Self {
                engine: Engine::Sqlite,
                write: Writer::One {
                    conn: Arc::new(Mutex::new(Some(writer))),
                    wait: acquire_timeout.unwrap_or(SQLITE_ACQUIRE_TIMEOUT),
                },
                read,
                url,
            })
        } else {
            let pool = AnyPoolOptions::new()
                .max_connections(max_connections.max(2))
                .acquire_timeout(acquire_timeout.unwrap_or(POSTGRES_ACQUIRE_TIMEOUT))
                .connect(&url)
                .await?;
            Ok(Self {
                engine: Engine::Postgres,
                write: Writer::Pool(pool.clone()),
                read: pool,
                url,
            })
        }
    }

    pub async fn migrate(&self) -> Result<()> {
        let migrator = match self.engine {
            Engine::Sqlite => sqlx::migrate!("migrations/sqlite"),
            Engine::Postgres => sqlx::migrate!("migrations/postgres"),
        };
        migrator
            .run(&mut *self.write_conn().await?)
            .await
            .map_err(|e| Error::Internal(format!("migration failed: {e}")))
    }

    /// A transaction that writes.
    pub async fn begin(&self) -> Result<Tx> {
        Tx::begin(self.write_conn().await?).await
    }

    /// A connection that writes, for a single statement outside a transaction: on SQLite the
    /// writer once it is free, on PostgreSQL one from the pool.
    pub async fn write_conn(&self) -> Result<WriteConn> {
        match &self.write {
            Writer::One { conn, wait } => {
                let held: OwnedMutexGuard<Option<AnyConnection>> =
                    tokio::time::timeout(*wait, Arc::clone(conn).lock_owned())
                        .await
                        .map_err(|_| sqlx::Error::PoolTimedOut)?;
                OwnedMutexGuard::try_map(held, Option::as_mut)
                    .map(WriteConn::One)
                    .map_err(|_| Error::from(sqlx::Error::PoolClosed))
            }
            Writer::Pool(pool) => Ok(WriteConn::Pool(pool.acquire().await?)),
        }
    }

    pub fn reader(&self) -> &AnyPool {
        &self.read
    }

    /// The database's URL, as connected to.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Row lock for read-modify-write on PostgreSQL; SQLite's single writer already serialises.
    pub fn for_update(&self) -> &'static str {
        match self.engine {
            Engine::Postgres => " FOR UPDATE",
            Engine::Sqlite => "",
        }
    }

    /// For queue takers: rows another worker is taking are skipped on PostgreSQL; on SQLite the
    /// single writer serialises takers.
    pub fn for_update_skip_locked(&self) -> &'static str {
        match self.engine {
            Engine::Postgres => " FOR UPDATE SKIP LOCKED",
            Engine::Sqlite => "",
        }
    }

    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.read).await?;
        Ok(())
    }

    /// Closes both pools; on SQLite the log is copied into the database and emptied first, so
    /// the next process to open it has nothing to read back.
    pub async fn close(&self) {
        match &self.write {
            Writer::One { conn, .. } => {
                if let Some(mut writer) = conn.lock().await.take() {
                    if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                        .execute(&mut writer)
                        .await
                    {
                        tracing::warn!(error = %e, "the SQLite log could not be emptied at close");
                    }
                    if let Err(e) = writer.close().await {
                        tracing::warn!(error = %e, "the SQLite writer did not close cleanly");
                    }
                }
            }
            Writer::Pool(pool) => pool.close().await,
        }
        self.read.close().await;
    }
}

/// Pages of SQLite log (4 KiB each) past which the writer copies it back itself: 64 MiB, far
/// more than `checkpoint_beside` lets gather while it runs.
const WAL_BACKSTOP_PAGES: u32 = 16_384;

/// How often the SQLite log is copied back into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);

/// Copies SQLite's write-ahead log back into the database, on a reader connection, until the pool
/// closes. Left to the writer, the copy and its sync would run inside whichever commit filled the
/// log, and every write queued behind it would wait; here the writer goes on appending while the
/// log is copied. PASSIVE never waits for readers or the writer: what it cannot copy now it copies
/// next time.
async fn checkpoint_beside(read: AnyPool) {
    let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if read.is_closed() {
            return;
        }
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&read)
            .await
        {
            if read.is_closed() {
                return;
            }
            tracing::warn!(error = %e, "checkpoint of the SQLite log failed; trying again");
        }
    }
}

/// Whether a failed transaction lost a race and can simply run again.
pub fn is_retryable(e: &Error) -> bool {
    let Error::Database(sqlx::Error::Database(db)) = e else {
        return false;
    };
    if db.is_unique_violation() {
        return true;
    }
    // PostgreSQL serialization failure and deadlock; SQLite busy.
    matches!(
        db.code().as_deref(),
        Some("40001") | Some("40P01") | Some("5") | Some("517")
    )
}

/// A pause before retrying a transaction that lost a race; grows with each attempt, with jitter.
pub async fn backoff(attempt: u32) {
    let jitter = u64::from(rand::random::<u8>() % 8);
    tokio::time::sleep(Duration::from_millis(u64::from(attempt) * 3 + jitter)).await;
}

/// Runs a transaction body again when it lost a race (see [`is_retryable`]), up to eight times.
/// A macro rather than a function taking a closure, so the future stays `Send` for the server.
#[macro_export]
macro_rules! retrying {
    ($body:expr) => {{
        let mut attempt = 0u32;
        loop {
            let result: $crate::error::Result<_> = async { $body }.await;
            match result {
                Err(e) if $crate::store::is_retryable(&e) && attempt < 8 => {
                    attempt += 1;
                    $crate::store::backoff(attempt).await;
                }
                other => break other,
            }
        }
    }};
}

pub type AnyQuery = sqlx::query::Query<'static, Any, sqlx::any::AnyArguments>;

/// Binds run-time arguments in order.
pub fn query_with_args(sql: String, args: &[Arg]) -> AnyQuery {
    bind_args(sql, args.iter().cloned())
}

/// Binds arguments in order, moving them into the query.
pub fn bind_args(sql: String, args: impl IntoIterator<Item = Arg>) -> AnyQuery {
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for a in args {
        q = match a {
            Arg::Int(i) => q.bind(i),
            Arg::Text(s) => q.bind(s),
            Arg::MaybeInt(i) => q.bind(i),
            Arg::MaybeText(s) => q.bind(s),
        };
    }
    q
}

/// A migrated SQLite database in a file of its own, for tests that need a real one.
#[cfg(test)]
pub(crate) struct ScratchDb {
    pub db: Db,
    pub path: std::path::PathBuf,
}

#[cfg(test)]
impl ScratchDb {
    pub async fn new(connections: u32) -> Self {
        let path = std::env::temp_dir().join(format!(
            "warden-test-{}.db",
            hex::encode(rand::random::<[u8; 6]>())
        ));
        let db = Db::connect(path.to_str().unwrap(), connections)
            .await
            .unwrap();
        db.migrate().await.unwrap();
        Self { db, path }
    }

    /// Closes the database (every clone of it) and removes its files.
    pub async fn remove(self) {
        self.db.close().await;
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.path.display()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::Row;

    #[tokio::test]
    async fn readers_see_every_commit_while_the_log_is_copied_beside_them() {
        let scratch = ScratchDb::new(3).await;
        let db = &scratch.db;
        for i in 1..=12_i64 {
            let mut tx = db.begin().await.unwrap();
            sqlx::query("INSERT INTO search_docs (case_id, kind, body) VALUES ($1, 'note', 'x')")
                .bind(i)
                .execute(&mut *tx)
                .await
                .unwrap();
            tx.commit().await.unwrap();
            // Let a checkpoint run on some reader between the commit and the reads.
            tokio::time::sleep(CHECKPOINT_EVERY + Duration::from_millis(20)).await;
            for _ in 0..6 {
                let seen: i64 = sqlx::query("SELECT COUNT(*) FROM search_docs")
                    .fetch_one(db.reader())
                    .await
                    .unwrap()
                    .try_get(0)
                    .unwrap();
                assert_eq!(seen, i, "a reader saw an old snapshot");
            }
        }
        scratch.remove().await;
    }

    #[tokio::test]
    async fn the_log_is_copied_into_the_database_beside_the_writer() {
        let scratch = ScratchDb::new(2).await;
        let (db, path) = (&scratch.db, scratch.path.clone());
        tokio::time::sleep(CHECKPOINT_EVERY * 3).await;
        let before = std::fs::metadata(&path).unwrap().len();
        let mut tx = db.begin().await.unwrap();
        for i in 0..2000 {
            sqlx::query("INSERT INTO search_docs (case_id, kind, body) VALUES ($1, 'note', $2)")
                .bind(i as i64)
                .bind(format!("note number {i} with some words to index"))
                .execute(&mut *tx)
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();
        // The writer never checkpoints itself; only the task beside it can grow the file.
        let mut grown = false;
        for _ in 0..40 {
            tokio::time::sleep(CHECKPOINT_EVERY).await;
            if std::fs::metadata(&path).unwrap().len() > before {
                grown = true;
                break;
            }
        }
        scratch.remove().await;
        assert!(grown, "the database file never took in the log");
    }
}
