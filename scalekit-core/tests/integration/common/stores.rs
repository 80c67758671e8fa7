//! The session stores the store suite runs against, each on its real
//! server: memory, cookie-only, one Redis, a Redis cluster, PostgreSQL.

use std::sync::Arc;
use std::time::Duration;

use scalekit_core::session::{
    CookieStore, MemoryStore, PostgresStore, RedisClusterStore, RedisStore, SessionMode,
    SessionStore,
};

use super::postgres::PostgresServer;
use super::redis::{RedisCluster, RedisServer};

/// A store kind and the server behind it.
pub enum Backend {
    Memory(Arc<MemoryStore>),
    Cookie,
    Redis(RedisServer),
    RedisCluster(RedisCluster),
    Postgres(PostgresServer),
}

impl Backend {
    pub fn memory() -> Backend {
        Backend::Memory(Arc::new(MemoryStore::new(1000, Duration::from_secs(3600))))
    }

    pub fn cookie() -> Backend {
        Backend::Cookie
    }

    pub fn redis() -> Backend {
        Backend::Redis(RedisServer::start())
    }

    pub fn redis_cluster() -> Backend {
        Backend::RedisCluster(RedisCluster::start())
    }

    pub fn postgres() -> Backend {
        Backend::Postgres(PostgresServer::start())
    }

    /// The store an application instance opens on this backend (a new
    /// connection each time; the memory store is the process's own).
    pub async fn store(&self) -> Arc<dyn SessionStore> {
        match self {
            Backend::Memory(store) => store.clone(),
            Backend::Cookie => Arc::new(CookieStore),
            Backend::Redis(redis) => Arc::new(RedisStore::connect(&redis.url()).await.unwrap()),
            Backend::RedisCluster(cluster) => Arc::new(
                RedisClusterStore::connect(&cluster.urls().split(',').collect::<Vec<_>>())
                    .await
                    .unwrap(),
            ),
            Backend::Postgres(pg) => Arc::new(PostgresStore::connect(&pg.url()).await.unwrap()),
        }
    }

    /// Where sessions live.
    pub fn mode(&self) -> SessionMode {
        match self {
            Backend::Cookie => SessionMode::CookieOnly,
            _ => SessionMode::ServerSide,
        }
    }

    /// Whether several instances (processes) share the sessions: a refresh,
    /// a logout, a lock seen by all.
    pub fn shared(&self) -> bool {
        matches!(
            self,
            Backend::Redis(_) | Backend::RedisCluster(_) | Backend::Postgres(_)
        )
    }

    /// Whether sessions outlive the application process (a new process
    /// opens a new store: the memory store is then empty).
    pub fn survives_restart(&self) -> bool {
        !matches!(self, Backend::Memory(_))
    }

    /// The store a restarted application process opens.
    pub async fn store_after_restart(&self) -> Arc<dyn SessionStore> {
        match self {
            Backend::Memory(_) => Arc::new(MemoryStore::new(1000, Duration::from_secs(3600))),
            _ => self.store().await,
        }
    }

    /// Every stored key or row with its value, raw: what someone reading
    /// the store's server would see (nothing for memory and cookies).
    pub fn dump(&self) -> Vec<(String, Vec<u8>)> {
        match self {
            Backend::Memory(_) | Backend::Cookie => Vec::new(),
            Backend::Redis(redis) => redis.dump(),
            Backend::RedisCluster(cluster) => cluster.dump(),
            Backend::Postgres(pg) => pg.dump(),
        }
    }

    /// How many session records the server holds, expired ones not yet
    /// swept included (`None` for memory and cookies).
    pub fn records(&self) -> Option<usize> {
        match self {
            Backend::Memory(_) | Backend::Cookie => None,
            Backend::Redis(redis) => Some(redis.keys("scalekit:session:*").len()),
            Backend::RedisCluster(cluster) => Some(cluster.keys("scalekit:*session:*").len()),
            Backend::Postgres(pg) => Some(
                pg.psql("SELECT count(*) FROM scalekit_sessions")
                    .trim()
                    .parse()
                    .unwrap(),
            ),
        }
    }

    /// Deletes expired records the way the store does it in the background
    /// (Redis expires keys by itself).
    pub async fn sweep(&self) {
        if let Backend::Postgres(pg) = self {
            PostgresStore::connect(&pg.url())
                .await
                .unwrap()
                .sweep_expired()
                .await
                .unwrap();
        }
    }

    /// The variable and value that select this store in the environment
    /// (none for memory and cookies).
    pub fn variable(&self) -> Option<(&'static str, String)> {
        match self {
            Backend::Memory(_) | Backend::Cookie => None,
            Backend::Redis(redis) => Some(("REDIS_URL", redis.url())),
            Backend::RedisCluster(cluster) => Some(("REDIS_CLUSTER_URLS", cluster.urls())),
            Backend::Postgres(pg) => Some(("DATABASE_URL", pg.url())),
        }
    }

    /// Stops the store's server(s) (the store going away).
    pub fn stop(&mut self) {
        match self {
            Backend::Memory(_) | Backend::Cookie => {}
            Backend::Redis(redis) => redis.stop(),
            Backend::RedisCluster(cluster) => cluster.stop(),
            Backend::Postgres(pg) => pg.stop(),
        }
    }

    /// Starts the store's server(s) again after [`Backend::stop`].
    pub fn restart(&mut self) {
        match self {
            Backend::Memory(_) | Backend::Cookie => {}
            Backend::Redis(redis) => redis.restart(),
            Backend::RedisCluster(cluster) => cluster.restart(),
            Backend::Postgres(pg) => pg.restart(),
        }
    }
}
