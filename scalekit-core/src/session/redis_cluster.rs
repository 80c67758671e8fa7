//! The Redis store on a Redis or Valkey cluster: the scripts of the
//! single-node store, with every key of a session hash-tagged by its bucket
//! (see the module docs of the single-node store), through the cluster
//! client, which follows `MOVED` and `ASK` redirections and a failover.

use std::time::Duration;

use redis::cluster::{ClusterClient, ClusterConfig};
use redis::cluster_async::ClusterConnection;

use super::redis_store::{Connector, DEFAULT_TIMEOUT, Engine, Keys, delegate_session_store};
use super::store::{BoxFuture, SessionMode, SessionStore, StoreError, StoredSession};

/// Attempts of one command on the cluster (redirections and a failover
/// included), each bounded by the store's timeout, all of them together
/// too.
const CLUSTER_RETRIES: u32 = 6;

/// A cluster reached through its seed nodes.
#[derive(Clone)]
pub(crate) struct Cluster(Vec<String>);

impl Cluster {
    fn client(&self, timeout: Duration) -> redis::RedisResult<ClusterClient> {
        ClusterClient::builder(self.0.clone())
            .retries(CLUSTER_RETRIES)
            .min_retry_wait(10)
            .max_retry_wait(200)
            .connection_timeout(timeout)
            .response_timeout(timeout)
            .build()
    }
}

impl Connector for Cluster {
    type Connection = ClusterConnection;

    async fn connect(&self, timeout: Duration) -> redis::RedisResult<ClusterConnection> {
        let config = ClusterConfig::new()
            .set_connection_timeout(timeout)
            .set_response_timeout(timeout);
        self.client(timeout)?
            .get_async_connection_with_config(config)
            .await
    }
}

/// Sessions in a Redis or Valkey cluster, under a key prefix (default
/// `scalekit:`): the same records, scripts, promises, timeout and retry
/// rules as [`RedisStore`](super::RedisStore).
///
/// Sessions are spread over 64 buckets, each one hash slot: a session, its
/// refresh lock and its bucket's share of its user's index are in one slot,
/// so every script runs on one node. The cluster client follows `MOVED` and
/// `ASK` (resharding) and finds the new primary after a failover; while the
/// primary of a session's slot is down and not yet replaced, that session's
/// requests answer `503` with `Retry-After` and the other sessions go on
/// (with `cluster-require-full-coverage no` on the servers; with the default
/// `yes`, the whole cluster refuses requests until every slot is served).
/// "Sign out everywhere" runs once per bucket: it needs every primary.
///
/// Seed nodes are `redis://` or `rediss://` URLs (all of one scheme); one
/// reachable seed is enough to learn the whole cluster.
///
/// ```no_run
/// # async fn demo() -> Result<(), scalekit_core::session::StoreError> {
/// use scalekit_core::session::RedisClusterStore;
///
/// // Connects now, and fails if no seed node answers:
/// let store = RedisClusterStore::connect(&[
///     "redis://10.0.0.1:6379",
///     "redis://10.0.0.2:6379",
/// ])
/// .await?;
/// // Or connects on first use, from the comma-separated list of
/// // `REDIS_CLUSTER_URLS`:
/// let lazy = RedisClusterStore::open_list("redis://10.0.0.1:6379,redis://10.0.0.2:6379")?;
/// # let _ = (store, lazy); Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisClusterStore {
    engine: Engine<Cluster>,
}

impl std::fmt::Debug for RedisClusterStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisClusterStore")
            .field("prefix", &self.engine.prefix())
            .field("timeout", &self.engine.timeout())
            .finish_non_exhaustive()
    }
}

impl RedisClusterStore {
    /// Connects to the cluster through `seeds` and checks that it answers:
    /// fails with [`StoreError::Unavailable`] if no seed answers within the
    /// timeout.
    pub async fn connect<S: AsRef<str>>(seeds: &[S]) -> Result<Self, StoreError> {
        let store = Self::open(seeds)?;
        store.engine.ping().await?;
        Ok(store)
    }

    /// A store for the cluster of `seeds` that connects on first use (an
    /// application can start while the cluster is coming up; its session
    /// requests answer `503` until then). Fails only for an empty list or
    /// one that holds something else than `redis://` or `rediss://` URLs
    /// ([`StoreError::InvalidUrl`]).
    pub fn open<S: AsRef<str>>(seeds: &[S]) -> Result<Self, StoreError> {
        let seeds: Vec<String> = seeds
            .iter()
            .map(|seed| seed.as_ref().trim().to_owned())
            .filter(|seed| !seed.is_empty())
            .collect();
        let scheme_ok =
            |seed: &String| seed.starts_with("redis://") || seed.starts_with("rediss://");
        if seeds.is_empty() || !seeds.iter().all(scheme_ok) {
            return Err(StoreError::InvalidUrl);
        }
        let cluster = Cluster(seeds);
        // Parses the seeds now (nothing is sent).
        cluster.client(DEFAULT_TIMEOUT).map_err(|err| {
            tracing::warn!(error = %err, "not a list of Redis cluster URLs");
            StoreError::InvalidUrl
        })?;
        Ok(RedisClusterStore {
            engine: Engine::new(cluster, Keys::new("scalekit:", true)),
        })
    }

    /// As [`RedisClusterStore::open`], from a comma-separated list (the
    /// form of `REDIS_CLUSTER_URLS`).
    ///
    /// ```
    /// use scalekit_core::session::{RedisClusterStore, StoreError};
    ///
    /// assert!(RedisClusterStore::open_list("redis://10.0.0.1:6379, redis://10.0.0.2:6379").is_ok());
    /// assert_eq!(
    ///     RedisClusterStore::open_list("postgres://10.0.0.1/db").unwrap_err(),
    ///     StoreError::InvalidUrl
    /// );
    /// ```
    pub fn open_list(seeds: &str) -> Result<Self, StoreError> {
        Self::open(&seeds.split(',').collect::<Vec<_>>())
    }

    /// Sends a `PING` to one node: the cluster answers, or
    /// [`StoreError::Unavailable`].
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.engine.ping().await
    }

    /// Uses another key prefix (several applications on one cluster).
    /// Braces are left out of it: a `{…}` in the prefix would be the hash
    /// tag of every key, and put all sessions in one slot.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        let prefix: String = prefix
            .into()
            .chars()
            .filter(|c| !matches!(c, '{' | '}'))
            .collect();
        self.engine.set_prefix(prefix);
        self
    }

    /// Bounds every operation (connecting, redirections, the answer, and
    /// the one repetition after a dropped connection) to `timeout` (default
    /// 2 s): past it, the operation fails with [`StoreError::Unavailable`].
    /// Applies to connections made after the call: set it before first
    /// use.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.engine.set_timeout(timeout);
        self
    }
}

delegate_session_store!(RedisClusterStore);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_cannot_bring_its_own_hash_tag() {
        let store = RedisClusterStore::open_list("redis://127.0.0.1:7000")
            .unwrap()
            .prefix("app{1}:");
        assert!(format!("{store:?}").contains("\"app1:\""));
    }

    #[test]
    fn only_lists_of_redis_urls_open() {
        assert!(RedisClusterStore::open_list("redis://127.0.0.1:7000").is_ok());
        assert!(
            RedisClusterStore::open_list("rediss://127.0.0.1:7000,rediss://127.0.0.1:7001").is_ok()
        );
        for list in ["", " , ", "http://127.0.0.1:7000", "redis://a:1,http://b:2"] {
            assert_eq!(
                RedisClusterStore::open_list(list).map(|_| ()),
                Err(StoreError::InvalidUrl),
                "{list}"
            );
        }
    }
}
