//! A PostgreSQL session store: the cookie carries only the session id;
//! several application instances share sessions, "sign out everywhere"
//! works, and the refresh lock holds across instances.
//!
//! Two tables ([`PostgresStore::SCHEMA`], created at first use unless
//! [`PostgresStore::create_schema`] turns that off):
//!
//! - `scalekit_sessions`: one row per session: `id`, `user_id` (indexed:
//!   the user index), `version`, `sealed` (the session sealed by the
//!   manager: no token, email or refresh token in the clear), `writes` (the
//!   random ids of the last conditional writes applied, see below) and
//!   `expires_at` (indexed, for the sweep);
//! - `scalekit_session_locks`: the refresh locks, one row per session being
//!   refreshed, a lease until `expires_at`.
//!
//! Every write is one statement: a conditional write is an `UPDATE … WHERE
//! version = $expected`, which PostgreSQL serialises with every other write
//! and removal of the row. Expiry uses the database's clock. Expired rows
//! are deleted by a background task (in bounded batches that skip locked
//! rows, so that requests never wait for it) and are never read meanwhile.
//!
//! As with Redis, a write whose answer is lost (the connection drops after
//! the database committed it) is sent once more on a new connection; each
//! conditional write carries a random id, kept among the row's last
//! [`RECENT_WRITES`], so that its repetition is recognised and not applied
//! twice.

use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use tokio::sync::{OnceCell, Semaphore};
use tokio_postgres::config::SslMode;
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, NoTls, Statement};

use super::store::{
    BoxFuture, DEFAULT_TIMEOUT, SessionMode, SessionStore, StoreError, StoredSession, millis,
    write_id,
};

/// How many ids of applied conditional writes a row keeps.
const RECENT_WRITES: usize = 8;

/// Rows deleted by one statement of the sweep.
const SWEEP_BATCH: i64 = 500;

/// The statements a connection prepares once.
struct Statements {
    load: Statement,
    create: Statement,
    replace: Statement,
    applied: Statement,
    remove: Statement,
    remove_user: Statement,
    lock: Statement,
    unlock: Statement,
}

impl Statements {
    async fn prepare(client: &Client) -> Result<Statements, tokio_postgres::Error> {
        Ok(Statements {
            load: client.prepare(LOAD).await?,
            create: client.prepare(CREATE).await?,
            replace: client.prepare(REPLACE).await?,
            applied: client.prepare(APPLIED).await?,
            remove: client.prepare(REMOVE).await?,
            remove_user: client.prepare(REMOVE_USER).await?,
            lock: client.prepare(LOCK).await?,
            unlock: client.prepare(UNLOCK).await?,
        })
    }
}

const LOAD: &str = "SELECT version, sealed FROM scalekit_sessions \
     WHERE id = $1 AND expires_at > now()";
const CREATE: &str = "INSERT INTO scalekit_sessions (id, user_id, version, sealed, writes, expires_at) \
     VALUES ($1, $2, 1, $3, '{}', now() + $4::bigint * interval '1 millisecond') \
     ON CONFLICT (id) DO UPDATE SET user_id = EXCLUDED.user_id, version = 1, \
     sealed = EXCLUDED.sealed, writes = '{}', expires_at = EXCLUDED.expires_at";
const REPLACE: &str = "UPDATE scalekit_sessions SET version = version + 1, sealed = $3, \
     user_id = $4, expires_at = now() + $5::bigint * interval '1 millisecond', \
     writes = (ARRAY[$6::text] || writes)[1:$7::int] \
     WHERE id = $1 AND version = $2 AND expires_at > now() RETURNING version";
const APPLIED: &str = "SELECT 1 FROM scalekit_sessions WHERE id = $1 AND $2::text = ANY(writes)";
const REMOVE: &str = "DELETE FROM scalekit_sessions WHERE id = $1";
const REMOVE_USER: &str = "WITH removed AS (DELETE FROM scalekit_sessions WHERE user_id = $1 \
     RETURNING expires_at) SELECT count(*) FROM removed WHERE expires_at > now()";
const LOCK: &str = "INSERT INTO scalekit_session_locks (id, token, expires_at) \
     VALUES ($1, $2, now() + $3::bigint * interval '1 millisecond') \
     ON CONFLICT (id) DO UPDATE SET token = EXCLUDED.token, expires_at = EXCLUDED.expires_at \
     WHERE scalekit_session_locks.expires_at <= now() \
     OR scalekit_session_locks.token = EXCLUDED.token RETURNING 1";
const UNLOCK: &str = "DELETE FROM scalekit_session_locks WHERE id = $1 AND token = $2";
const SWEEP_SESSIONS: &str = "DELETE FROM scalekit_sessions WHERE id IN (SELECT id FROM \
     scalekit_sessions WHERE expires_at <= now() LIMIT $1 FOR UPDATE SKIP LOCKED)";
const SWEEP_LOCKS: &str = "DELETE FROM scalekit_session_locks WHERE id IN (SELECT id FROM \
     scalekit_session_locks WHERE expires_at <= now() LIMIT $1 FOR UPDATE SKIP LOCKED)";

/// A pooled connection and its prepared statements.
struct Connection {
    client: Client,
    statements: Statements,
}

/// The pool: idle connections, and permits bounding how many exist.
struct Pool {
    idle: Mutex<Vec<Connection>>,
    permits: Arc<Semaphore>,
    schema: OnceCell<()>,
    sweeper: std::sync::Once,
}

impl Pool {
    fn new(size: usize) -> Arc<Self> {
        Arc::new(Pool {
            idle: Mutex::new(Vec::new()),
            permits: Arc::new(Semaphore::new(size.max(1))),
            schema: OnceCell::new(),
            sweeper: std::sync::Once::new(),
        })
    }

    fn take_idle(&self) -> Option<Connection> {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        while let Some(connection) = idle.pop() {
            if !connection.client.is_closed() {
                return Some(connection);
            }
        }
        None
    }

    /// Drops every idle connection (after one was found lost: the others,
    /// opened to the same server, are likely lost too).
    fn clear_idle(&self) {
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    fn put_idle(&self, connection: Connection) {
        if !connection.client.is_closed() {
            self.idle
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(connection);
        }
    }
}

/// Why one attempt failed.
enum Failure {
    Db(tokio_postgres::Error),
    Store(StoreError),
}

impl From<tokio_postgres::Error> for Failure {
    fn from(err: tokio_postgres::Error) -> Self {
        Failure::Db(err)
    }
}

impl From<StoreError> for Failure {
    fn from(err: StoreError) -> Self {
        Failure::Store(err)
    }
}

/// Whether an attempt may be sent again on a new connection: the
/// connection was refused, had dropped, or the server is shutting it down
/// (not a timeout, not a statement the database refused; missing tables
/// are `PostgresStore::tables_gone`'s).
fn retryable(err: &tokio_postgres::Error) -> bool {
    use std::io::ErrorKind;
    if err.is_closed() {
        return true;
    }
    if let Some(code) = err.code() {
        let code = code.code();
        return code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03");
    }
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            return matches!(
                io.kind(),
                ErrorKind::ConnectionRefused
                    | ErrorKind::ConnectionReset
                    | ErrorKind::ConnectionAborted
                    | ErrorKind::BrokenPipe
                    | ErrorKind::UnexpectedEof
            );
        }
        source = cause.source();
    }
    false
}

fn unavailable(failure: Failure) -> StoreError {
    match failure {
        Failure::Db(err) => {
            tracing::warn!(error = %err, "PostgreSQL session store error");
            StoreError::Unavailable
        }
        Failure::Store(err) => err,
    }
}

/// Sessions in PostgreSQL (tables `scalekit_sessions` and
/// `scalekit_session_locks`, see [`PostgresStore::SCHEMA`]).
///
/// The same promises as [`RedisStore`](super::RedisStore): sealed records,
/// conditional writes, logout and "sign out everywhere" seen by every
/// instance at once, one refresh across instances (a lock row leased for
/// the refresh), expired records swept.
///
/// Connections come from a pool (16 by default, [`PostgresStore::pool_size`])
/// that a request waits for within the operation's bound: every operation
/// (waiting for a connection, connecting, the statement and its answer) is
/// bounded by [`PostgresStore::timeout`] (2 s by default). While the
/// database cannot be reached, operations fail with
/// [`StoreError::Unavailable`] within that time (the session requests
/// answer `503` with `Retry-After`), and connections are made again once it
/// is back. An operation that failed because its connection was refused or
/// had dropped is tried once more on a new connection within the same
/// bound; so is one refused because the tables are gone (a restore, a new
/// primary, a server that lost its last commits), the new connection
/// creating them first (unless [`PostgresStore::create_schema`] is off).
///
/// The URL is a `postgres://` (or `postgresql://`) URL, or key=value
/// settings. TLS to the database is not built in: a URL asking for it
/// (`sslmode=require`) is refused; reach a database that requires TLS
/// through a local TLS proxy (or a private network).
///
/// ```no_run
/// # async fn demo() -> Result<(), scalekit_core::session::StoreError> {
/// use std::time::Duration;
/// use scalekit_core::session::PostgresStore;
///
/// // Connects now (and creates the tables if they are missing), and
/// // fails if the database cannot be reached:
/// let store = PostgresStore::connect("postgres://app:secret@db.internal/app").await?;
/// // Or connects on first use (for start-up before the database is up):
/// let lazy = PostgresStore::open("postgres://app:secret@127.0.0.1/app")?
///     .pool_size(32)
///     .sweep_interval(Duration::from_secs(300));
/// # let _ = (store, lazy); Ok(()) }
/// ```
#[derive(Clone)]
pub struct PostgresStore {
    config: tokio_postgres::Config,
    timeout: Duration,
    sweep_interval: Duration,
    create_schema: bool,
    pool: Arc<Pool>,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The configuration holds the password: only the shape is shown.
        f.debug_struct("PostgresStore")
            .field("timeout", &self.timeout)
            .field("sweep_interval", &self.sweep_interval)
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// The tables and indexes the store uses, as it creates them at first
    /// use (idempotent; concurrent instances starting at once take turns).
    /// To create them with your own migrations instead, run this and turn
    /// [`PostgresStore::create_schema`] off.
    pub const SCHEMA: &'static str = "
CREATE TABLE IF NOT EXISTS scalekit_sessions (
    id text PRIMARY KEY,
    user_id text NOT NULL,
    version bigint NOT NULL,
    sealed bytea NOT NULL,
    writes text[] NOT NULL DEFAULT '{}',
    expires_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS scalekit_sessions_user_id ON scalekit_sessions (user_id);
CREATE INDEX IF NOT EXISTS scalekit_sessions_expires_at ON scalekit_sessions (expires_at);
CREATE TABLE IF NOT EXISTS scalekit_session_locks (
    id text PRIMARY KEY,
    token text NOT NULL,
    expires_at timestamptz NOT NULL
);
";

    /// Connects to the database at `url`, creates the tables if they are
    /// missing, and checks that it answers: fails with
    /// [`StoreError::Unavailable`] if it does not within the timeout.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let store = Self::open(url)?;
        store.ping().await?;
        Ok(store)
    }

    /// A store for the database at `url` that connects on first use (an
    /// application can start while the database is coming up: its session
    /// requests answer `503` until then). Fails only for a URL that is not
    /// a PostgreSQL URL, or that asks for TLS ([`StoreError::InvalidUrl`]).
    ///
    /// ```
    /// use scalekit_core::session::{PostgresStore, StoreError};
    ///
    /// assert!(PostgresStore::open("postgres://app@127.0.0.1:5432/app").is_ok());
    /// assert_eq!(PostgresStore::open("redis://127.0.0.1/").unwrap_err(), StoreError::InvalidUrl);
    /// ```
    pub fn open(url: &str) -> Result<Self, StoreError> {
        let url = url.trim();
        let config: tokio_postgres::Config = url.parse().map_err(|err| {
            tracing::warn!(error = %err, "not a PostgreSQL URL");
            StoreError::InvalidUrl
        })?;
        if url.contains("://")
            && !(url.starts_with("postgres://") || url.starts_with("postgresql://"))
        {
            return Err(StoreError::InvalidUrl);
        }
        if config.get_ssl_mode() == SslMode::Require {
            tracing::warn!("the PostgreSQL URL asks for TLS, which this store does not build in");
            return Err(StoreError::InvalidUrl);
        }
        Ok(PostgresStore {
            config,
            timeout: DEFAULT_TIMEOUT,
            sweep_interval: Duration::from_secs(60),
            create_schema: true,
            pool: Pool::new(16),
        })
    }

    /// Bounds every operation (waiting for a pooled connection, connecting,
    /// the statement, its answer, and the one repetition after a dropped
    /// connection or missing tables) to `timeout` (default 2 s): past it, the operation fails
    /// with [`StoreError::Unavailable`].
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// At most `size` connections (default 16): a request finding them all
    /// busy waits for one, within the operation's timeout. Set it before
    /// first use (it starts a new, empty pool).
    pub fn pool_size(mut self, size: usize) -> Self {
        self.pool = Pool::new(size);
        self
    }

    /// How often expired sessions and locks are deleted (default every 60
    /// s), by a task started at first use that ends with the store.
    pub fn sweep_interval(mut self, interval: Duration) -> Self {
        self.sweep_interval = interval.max(Duration::from_millis(10));
        self
    }

    /// Whether the store creates its tables at first use (default `true`).
    /// Turn it off when your migrations create them ([`PostgresStore::SCHEMA`])
    /// and the application's role may not create tables.
    pub fn create_schema(mut self, create: bool) -> Self {
        self.create_schema = create;
        self
    }

    /// Runs `SELECT 1` (connecting, and creating the tables, if needed):
    /// the database answers, or [`StoreError::Unavailable`].
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.run(|connection| async move {
            connection.client.simple_query("SELECT 1").await?;
            Ok(())
        })
        .await
    }

    /// Deletes expired sessions and locks now (the background task does it
    /// every [`sweep_interval`](PostgresStore::sweep_interval)); returns how
    /// many rows were deleted. Each statement deletes at most 500 rows and
    /// skips rows other requests hold, so requests never wait for it.
    pub async fn sweep_expired(&self) -> Result<u64, StoreError> {
        let mut deleted = 0;
        for statement in [SWEEP_SESSIONS, SWEEP_LOCKS] {
            loop {
                let rows = self
                    .run(|connection| async move {
                        Ok(connection
                            .client
                            .execute(statement, &[&SWEEP_BATCH])
                            .await?)
                    })
                    .await?;
                deleted += rows;
                if rows < SWEEP_BATCH.unsigned_abs() {
                    break;
                }
                tokio::task::yield_now().await;
            }
        }
        Ok(deleted)
    }

    /// A new connection, its statements prepared (the tables created first,
    /// once per store, and again when the database came back without them:
    /// a restore, a new primary, a server that lost its last commits).
    async fn connection(&self) -> Result<Connection, Failure> {
        let mut config = self.config.clone();
        config.connect_timeout(self.timeout);
        let (client, driver) = config.connect(NoTls).await?;
        tokio::spawn(async move {
            if let Err(err) = driver.await {
                tracing::debug!(error = %err, "PostgreSQL connection closed");
            }
        });
        if self.create_schema {
            self.pool
                .schema
                .get_or_try_init(|| Self::migrate(&client))
                .await?;
        }
        let statements = match Statements::prepare(&client).await {
            Err(err) if self.tables_gone(&err) => {
                Self::migrate(&client).await?;
                Statements::prepare(&client).await?
            }
            prepared => prepared?,
        };
        self.start_sweeper();
        Ok(Connection { client, statements })
    }

    /// Whether `err` says the tables are gone while this store may create
    /// them: the statement was refused before it ran, so it may be sent
    /// again on a new connection (which creates them).
    fn tables_gone(&self, err: &tokio_postgres::Error) -> bool {
        self.create_schema && err.code() == Some(&SqlState::UNDEFINED_TABLE)
    }

    /// Creates the tables when missing, one instance at a time.
    async fn migrate(client: &Client) -> Result<(), tokio_postgres::Error> {
        let migration = format!(
            "BEGIN; SELECT pg_advisory_xact_lock(7361226151392465237); {} COMMIT;",
            Self::SCHEMA
        );
        client.batch_execute(&migration).await
    }

    /// Starts the sweep task once per pool; it ends when the store is gone.
    fn start_sweeper(&self) {
        self.pool.sweeper.call_once(|| {
            let pool: Weak<Pool> = Arc::downgrade(&self.pool);
            let (config, timeout, interval) =
                (self.config.clone(), self.timeout, self.sweep_interval);
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(interval).await;
                    let Some(pool) = pool.upgrade() else { return };
                    let store = PostgresStore {
                        config: config.clone(),
                        timeout,
                        sweep_interval: interval,
                        create_schema: false,
                        pool,
                    };
                    match store.sweep_expired().await {
                        Ok(0) => {}
                        Ok(rows) => tracing::debug!(rows, "expired sessions swept"),
                        Err(err) => tracing::debug!(error = %err, "session sweep failed"),
                    }
                }
            });
        });
    }

    /// One attempt: a pooled (or, when `fresh` or none is idle, a new)
    /// connection, `op` on it, the connection back to the pool when `op`
    /// succeeded.
    async fn attempt<T, F, Fut>(&self, op: &F, fresh: bool) -> Result<T, Failure>
    where
        F: Fn(Arc<Connection>) -> Fut,
        Fut: Future<Output = Result<T, Failure>>,
    {
        let permit = self
            .pool
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| Failure::Store(StoreError::Unavailable))?;
        let pooled = if fresh { None } else { self.pool.take_idle() };
        let connection = match pooled {
            Some(connection) => connection,
            None => self.connection().await?,
        };
        let connection = Arc::new(connection);
        let result = op(Arc::clone(&connection)).await;
        if result.is_ok()
            && let Ok(connection) = Arc::try_unwrap(connection)
        {
            self.pool.put_idle(connection);
        }
        drop(permit);
        result
    }

    /// Runs `op` within the timeout, once more on a new connection after a
    /// refused or dropped one.
    async fn run<T, F, Fut>(&self, op: F) -> Result<T, StoreError>
    where
        F: Fn(Arc<Connection>) -> Fut,
        Fut: Future<Output = Result<T, Failure>>,
    {
        let attempts = async {
            match self.attempt(&op, false).await {
                Err(Failure::Db(err)) if retryable(&err) => {
                    tracing::debug!(error = %err, "PostgreSQL connection lost; trying once more");
                    self.pool.clear_idle();
                    self.attempt(&op, true).await.map_err(unavailable)
                }
                Err(Failure::Db(err)) if self.tables_gone(&err) => {
                    // The connections stay: only the tables are gone, and a
                    // new connection creates them.
                    tracing::warn!("the session tables are gone; creating them again");
                    self.attempt(&op, true).await.map_err(unavailable)
                }
                other => other.map_err(unavailable),
            }
        };
        match tokio::time::timeout(self.timeout, attempts).await {
            Ok(result) => result,
            Err(_) => {
                tracing::warn!(timeout = ?self.timeout, "PostgreSQL session store timed out");
                Err(StoreError::Unavailable)
            }
        }
    }
}

/// A TTL in milliseconds as the statements take it.
fn ttl_millis(ttl: Duration) -> i64 {
    i64::try_from(millis(ttl)).unwrap_or(i64::MAX)
}

impl SessionStore for PostgresStore {
    fn mode(&self) -> SessionMode {
        SessionMode::ServerSide
    }

    fn create<'a>(
        &'a self,
        session_id: &'a str,
        user_id: &'a str,
        sealed: &'a [u8],
        ttl: Duration,
    ) -> BoxFuture<'a, Result<u64, StoreError>> {
        Box::pin(async move {
            let ttl = ttl_millis(ttl);
            self.run(|c| async move {
                c.client
                    .execute(
                        &c.statements.create,
                        &[&session_id, &user_id, &sealed, &ttl],
                    )
                    .await?;
                Ok(1)
            })
            .await
        })
    }

    fn replace<'a>(
        &'a self,
        session_id: &'a str,
        user_id: &'a str,
        expected: u64,
        sealed: &'a [u8],
        ttl: Duration,
    ) -> BoxFuture<'a, Result<Option<u64>, StoreError>> {
        Box::pin(async move {
            // A version past the column's range is not stored: nothing to
            // replace.
            let Ok(expected) = i64::try_from(expected) else {
                return Ok(None);
            };
            let ttl = ttl_millis(ttl);
            // One id for the write and its repetition (see the module docs).
            let write_id = write_id()?;
            let recent = i32::try_from(RECENT_WRITES).unwrap_or(i32::MAX);
            let write_id = write_id.as_str();
            self.run(|c| async move {
                let params: [&(dyn tokio_postgres::types::ToSql + Sync); 7] = [
                    &session_id,
                    &expected,
                    &sealed,
                    &user_id,
                    &ttl,
                    &write_id,
                    &recent,
                ];
                if let Some(row) = c.client.query_opt(&c.statements.replace, &params).await? {
                    let version: i64 = row.try_get(0)?;
                    return Ok(u64::try_from(version).ok());
                }
                // Not written: unless this is the repetition of a write
                // already applied (its answer lost), another write came
                // first or the session is gone.
                let applied = c
                    .client
                    .query_opt(&c.statements.applied, &[&session_id, &write_id])
                    .await?;
                Ok(applied.and_then(|_| u64::try_from(expected).ok().map(|v| v + 1)))
            })
            .await
        })
    }

    fn load<'a>(
        &'a self,
        session_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<StoredSession>, StoreError>> {
        Box::pin(async move {
            self.run(|c| async move {
                let Some(row) = c
                    .client
                    .query_opt(&c.statements.load, &[&session_id])
                    .await?
                else {
                    return Ok(None);
                };
                let version: i64 = row.try_get(0)?;
                let sealed: Vec<u8> = row.try_get(1)?;
                let version = u64::try_from(version).map_err(|_| StoreError::Corrupt)?;
                Ok(Some(StoredSession { sealed, version }))
            })
            .await
        })
    }

    fn remove<'a>(
        &'a self,
        session_id: &'a str,
        _user_id: &'a str,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            self.run(|c| async move {
                c.client
                    .execute(&c.statements.remove, &[&session_id])
                    .await?;
                Ok(())
            })
            .await
        })
    }

    fn remove_user<'a>(&'a self, user_id: &'a str) -> BoxFuture<'a, Result<u64, StoreError>> {
        Box::pin(async move {
            self.run(|c| async move {
                let row = c
                    .client
                    .query_one(&c.statements.remove_user, &[&user_id])
                    .await?;
                let count: i64 = row.try_get(0)?;
                Ok(count.unsigned_abs())
            })
            .await
        })
    }

    fn try_lock<'a>(
        &'a self,
        session_id: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<Option<String>, StoreError>> {
        Box::pin(async move {
            let token = crate::oauth::generate_state().map_err(|_| StoreError::Unavailable)?;
            let ttl = ttl_millis(ttl);
            let held = {
                let token = token.as_str();
                self.run(|c| async move {
                    Ok(c.client
                        .query_opt(&c.statements.lock, &[&session_id, &token, &ttl])
                        .await?
                        .is_some())
                })
                .await?
            };
            Ok(held.then_some(token))
        })
    }

    fn unlock<'a>(
        &'a self,
        session_id: &'a str,
        token: &'a str,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            self.run(|c| async move {
                c.client
                    .execute(&c.statements.unlock, &[&session_id, &token])
                    .await?;
                Ok(())
            })
            .await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_postgres_urls_without_tls_open() {
        for url in [
            "postgres://app@127.0.0.1:5432/app",
            "postgresql://app:secret@db.internal/app?sslmode=disable",
            "host=127.0.0.1 user=app dbname=app",
        ] {
            assert!(PostgresStore::open(url).is_ok(), "{url}");
        }
        for url in [
            "redis://127.0.0.1:6379/",
            "http://127.0.0.1/",
            "postgres://app@127.0.0.1/app?sslmode=require",
            "postgres://[::1",
        ] {
            assert_eq!(
                PostgresStore::open(url).map(|_| ()),
                Err(StoreError::InvalidUrl),
                "{url}"
            );
        }
    }

    #[test]
    fn the_debug_form_shows_no_password() {
        let store = PostgresStore::open("postgres://app:hunter2@127.0.0.1/app").unwrap();
        assert!(!format!("{store:?}").contains("hunter2"));
    }
}
