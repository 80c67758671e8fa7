//! A Redis session store: the cookie carries only the session id; several
//! application instances share sessions, "sign out everywhere" works, and
//! the refresh lock holds across instances.
//!
//! Layout under the prefix (default `scalekit:`):
//!
//! - `{prefix}session:{id}`: a hash, `v` (version) and `d` (the session
//!   sealed by the manager: no token is ever stored in the clear);
//! - `{prefix}user:{user id}`: the set of the user's session ids, living as
//!   long as the longest of them;
//! - `{prefix}lock:{id}`: the refresh lock.
//!
//! Every write is one Lua script, so a conditional write and a removal of
//! the same session never interleave. The scripts touch keys they compute
//! from the prefix: this store is for a single Redis (or a primary with
//! replicas), not Redis Cluster.

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::store::{BoxFuture, MAX_STORE_TTL, SessionStore, StoreError, StoredSession};

const UNLOCK: &str = r"if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

/// Lengthens the user index to `ttl_ms` unless it already lives longer
/// (`EXPIRE … GT`, written out so that it also runs on Redis 6).
const EXTEND_INDEX: &str = r"
local function extend_index(key, ttl_ms)
  local current = redis.call('pttl', key)
  if current < ttl_ms then redis.call('pexpire', key, ttl_ms) end
end
";

/// KEYS: session, user index. ARGV: sealed, ttl ms, session id, session key prefix.
/// Creates the session at version 1, prunes ids of expired sessions from
/// the user index, adds this one.
const CREATE: &str = r"
local ttl = tonumber(ARGV[2])
redis.call('del', KEYS[1])
redis.call('hset', KEYS[1], 'v', 1, 'd', ARGV[1])
redis.call('pexpire', KEYS[1], ttl)
for _, id in ipairs(redis.call('smembers', KEYS[2])) do
  if redis.call('exists', ARGV[4] .. id) == 0 then redis.call('srem', KEYS[2], id) end
end
redis.call('sadd', KEYS[2], ARGV[3])
extend_index(KEYS[2], ttl)
return 1
";

/// KEYS: session, user index. ARGV: expected version, sealed, ttl ms,
/// session id. Writes only if the stored version is the expected one;
/// returns the new version, or 0.
const REPLACE: &str = r"
local ttl = tonumber(ARGV[3])
local version = redis.call('hget', KEYS[1], 'v')
if (not version) or version ~= ARGV[1] then return 0 end
local new = redis.call('hincrby', KEYS[1], 'v', 1)
redis.call('hset', KEYS[1], 'd', ARGV[2])
redis.call('pexpire', KEYS[1], ttl)
redis.call('sadd', KEYS[2], ARGV[4])
extend_index(KEYS[2], ttl)
return new
";

/// KEYS: user index. ARGV: session key prefix. Deletes every session of the
/// index and the index; returns how many sessions existed.
const REMOVE_USER: &str = r"
local removed = 0
for _, id in ipairs(redis.call('smembers', KEYS[1])) do
  removed = removed + redis.call('del', ARGV[1] .. id)
end
redis.call('del', KEYS[1])
return removed
";

/// Sessions in Redis, under a key prefix (default `scalekit:`).
///
/// `redis://` and `rediss://` (TLS, verified against the system's root
/// certificates, or the CA of
/// [`connect_with_root_certificates`](RedisStore::connect_with_root_certificates))
/// URLs are both accepted.
///
/// ```no_run
/// # async fn demo() -> Result<(), scalekit_core::session::StoreError> {
/// use scalekit_core::session::RedisStore;
///
/// let store = RedisStore::connect("rediss://redis.internal:6380/").await?;
/// # let _ = store; Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisStore {
    connection: ConnectionManager,
    prefix: String,
    create: redis::Script,
    replace: redis::Script,
    remove_user: redis::Script,
    unlock: redis::Script,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

fn unavailable(err: redis::RedisError) -> StoreError {
    tracing::warn!(error = %err, "Redis session store error");
    StoreError::Unavailable
}

/// A TTL in milliseconds as Redis takes it: at least 1, at most
/// [`MAX_STORE_TTL`].
fn millis(ttl: Duration) -> u64 {
    u64::try_from(ttl.min(MAX_STORE_TTL).as_millis())
        .unwrap_or(u64::MAX)
        .max(1)
}

impl RedisStore {
    /// Connects to Redis at `url` (`redis://host:port/db`, or `rediss://`
    /// for TLS). Operations time out after 2 s; a lost connection is
    /// re-established in the background.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::with_client(redis::Client::open(url).map_err(unavailable)?).await
    }

    /// Connects to Redis over TLS at `url` (`rediss://…`), trusting only the
    /// CA certificates in `ca_pem` (PEM): for a Redis whose certificate is
    /// issued by a private CA.
    pub async fn connect_with_root_certificates(
        url: &str,
        ca_pem: &[u8],
    ) -> Result<Self, StoreError> {
        let certificates = redis::TlsCertificates {
            client_tls: None,
            root_cert: Some(ca_pem.to_vec()),
        };
        let client = redis::Client::build_with_tls(url, certificates).map_err(unavailable)?;
        Self::with_client(client).await
    }

    async fn with_client(client: redis::Client) -> Result<Self, StoreError> {
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(Duration::from_secs(2)))
            .set_number_of_retries(1);
        let connection = ConnectionManager::new_with_config(client, config)
            .await
            .map_err(unavailable)?;
        Ok(RedisStore {
            connection,
            prefix: "scalekit:".into(),
            create: redis::Script::new(&format!("{EXTEND_INDEX}{CREATE}")),
            replace: redis::Script::new(&format!("{EXTEND_INDEX}{REPLACE}")),
            remove_user: redis::Script::new(REMOVE_USER),
            unlock: redis::Script::new(UNLOCK),
        })
    }

    /// Uses another key prefix (several applications on one Redis).
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    fn session_prefix(&self) -> String {
        format!("{}session:", self.prefix)
    }

    fn session_key(&self, id: &str) -> String {
        format!("{}session:{id}", self.prefix)
    }

    fn user_key(&self, user_id: &str) -> String {
        format!("{}user:{user_id}", self.prefix)
    }

    fn lock_key(&self, id: &str) -> String {
        format!("{}lock:{id}", self.prefix)
    }
}

impl SessionStore for RedisStore {
    fn is_server_side(&self) -> bool {
        true
    }

    fn create<'a>(
        &'a self,
        session_id: &'a str,
        user_id: &'a str,
        sealed: &'a [u8],
        ttl: Duration,
    ) -> BoxFuture<'a, Result<u64, StoreError>> {
        Box::pin(async move {
            let mut con = self.connection.clone();
            self.create
                .key(self.session_key(session_id))
                .key(self.user_key(user_id))
                .arg(sealed)
                .arg(millis(ttl))
                .arg(session_id)
                .arg(self.session_prefix())
                .invoke_async::<u64>(&mut con)
                .await
                .map_err(unavailable)
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
            let mut con = self.connection.clone();
            let version: u64 = self
                .replace
                .key(self.session_key(session_id))
                .key(self.user_key(user_id))
                .arg(expected)
                .arg(sealed)
                .arg(millis(ttl))
                .arg(session_id)
                .invoke_async(&mut con)
                .await
                .map_err(unavailable)?;
            Ok((version != 0).then_some(version))
        })
    }

    fn load<'a>(
        &'a self,
        session_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<StoredSession>, StoreError>> {
        Box::pin(async move {
            let mut con = self.connection.clone();
            let (version, sealed): (Option<u64>, Option<Vec<u8>>) = redis::cmd("HMGET")
                .arg(self.session_key(session_id))
                .arg("v")
                .arg("d")
                .query_async(&mut con)
                .await
                .map_err(unavailable)?;
            match (version, sealed) {
                (Some(version), Some(sealed)) => Ok(Some(StoredSession { sealed, version })),
                (None, None) => Ok(None),
                _ => Err(StoreError::Corrupt),
            }
        })
    }

    fn remove<'a>(
        &'a self,
        session_id: &'a str,
        user_id: &'a str,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let mut con = self.connection.clone();
            redis::pipe()
                .atomic()
                .del(self.session_key(session_id))
                .srem(self.user_key(user_id), session_id)
                .query_async::<()>(&mut con)
                .await
                .map_err(unavailable)
        })
    }

    fn remove_user<'a>(&'a self, user_id: &'a str) -> BoxFuture<'a, Result<u64, StoreError>> {
        Box::pin(async move {
            let mut con = self.connection.clone();
            self.remove_user
                .key(self.user_key(user_id))
                .arg(self.session_prefix())
                .invoke_async::<u64>(&mut con)
                .await
                .map_err(unavailable)
        })
    }

    fn try_lock<'a>(
        &'a self,
        session_id: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<Option<String>, StoreError>> {
        Box::pin(async move {
            let token = crate::oauth::generate_state().map_err(|_| StoreError::Unavailable)?;
            let mut con = self.connection.clone();
            let acquired: Option<String> = redis::cmd("SET")
                .arg(self.lock_key(session_id))
                .arg(&token)
                .arg("NX")
                .arg("PX")
                .arg(millis(ttl))
                .query_async(&mut con)
                .await
                .map_err(unavailable)?;
            Ok(acquired.map(|_| token))
        })
    }

    fn unlock<'a>(
        &'a self,
        session_id: &'a str,
        token: &'a str,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let mut con = self.connection.clone();
            self.unlock
                .key(self.lock_key(session_id))
                .arg(token)
                .invoke_async::<i64>(&mut con)
                .await
                .map(|_| ())
                .map_err(unavailable)
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn rediss_urls_are_understood() {
        // Without TLS support compiled in, the redis crate refuses the URL.
        assert!(redis::Client::open("rediss://127.0.0.1:6380/").is_ok());
    }
}
