//! A Redis session store: the cookie carries only the session id; several
//! application instances share sessions, "sign out everywhere" works, and
//! the refresh lock holds across instances.
//!
//! Layout under the prefix (default `scalekit:`):
//!
//! - `{prefix}session:{id}`: a hash, `v` (version), `d` (the session
//!   sealed by the manager: no token is ever stored in the clear) and `w`
//!   (the random ids of the last conditional writes applied, see below);
//! - `{prefix}user:{user id}`: the set of the user's session ids, living as
//!   long as the longest of them;
//! - `{prefix}lock:{id}`: the refresh lock.
//!
//! Every write is one Lua script, so a conditional write and a removal of
//! the same session never interleave. On a single Redis (or a primary with
//! replicas) the keys are the ones above. On a Redis or Valkey cluster
//! ([`RedisClusterStore`](super::RedisClusterStore)) every key of a session
//! carries the hash tag of its bucket (one of [`BUCKETS`], from the session
//! id): `{prefix}{sk7}session:{id}`, `{prefix}{sk7}lock:{id}` and the
//! bucket's share of the user index, `{prefix}{sk7}user:{user id}`, are in
//! one hash slot, so each script touches one slot. "Sign out everywhere"
//! runs the removal script once per bucket.
//!
//! A write whose answer is lost (the connection drops after Redis ran it)
//! is sent once more on a new connection. For a conditional write that
//! repetition would find the version it advanced itself and answer "another
//! write came first", and the caller would apply its change a second time
//! on the session it reads back (`update_data(|n| n + 1)` adding 2). So each
//! conditional write carries a random write id, used by its repetition too;
//! the script keeps the ids of the last `RECENT_WRITES` writes applied in
//! the session's hash (expiring and removed with it; random, so nothing in
//! the clear), and a write whose id is among them is not applied again: it
//! answers the version it wrote then.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use tokio::sync::OnceCell;

pub(crate) use super::store::DEFAULT_TIMEOUT;
use super::store::{
    BoxFuture, MAX_STORE_TTL, SessionMode, SessionStore, StoreError, StoredSession, millis,
    write_id,
};

/// KEYS: lock. ARGV: token, lease ms. Takes the lock, or keeps it when
/// this token already holds it (so that repeating the call after a lost
/// answer does not lock out its own caller); 1 when held by the token.
const LOCK: &str = r"
if redis.call('get', KEYS[1]) == ARGV[1] then
  redis.call('pexpire', KEYS[1], ARGV[2])
  return 1
end
if redis.call('set', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
return 0
";

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

/// How many ids of applied conditional writes a session's record keeps
/// (field `w`): a repeated write is recognised as long as fewer writes of
/// the same session came in between (the repetition follows within the
/// store's timeout).
const RECENT_WRITES: usize = 8;

/// KEYS: session, user index. ARGV: expected version, sealed, ttl ms,
/// session id, write id, [`RECENT_WRITES`]. Writes only if the stored
/// version is the expected one; returns the new version, or 0. A write
/// whose id is among the recent ones is a repetition of a write already
/// applied (its answer was lost): not applied again, it returns the version
/// it wrote then (the expected one plus one), even if later writes came
/// after it.
const REPLACE: &str = r"
local ttl = tonumber(ARGV[3])
local version = redis.call('hget', KEYS[1], 'v')
if not version then return 0 end
local recent = redis.call('hget', KEYS[1], 'w') or ''
if ARGV[5] ~= '' and string.find(' ' .. recent .. ' ', ' ' .. ARGV[5] .. ' ', 1, true) then
  return tonumber(ARGV[1]) + 1
end
if version ~= ARGV[1] then return 0 end
local ids = { ARGV[5] }
for id in string.gmatch(recent, '%S+') do
  if #ids >= tonumber(ARGV[6]) then break end
  ids[#ids + 1] = id
end
local new = redis.call('hincrby', KEYS[1], 'v', 1)
redis.call('hset', KEYS[1], 'd', ARGV[2], 'w', table.concat(ids, ' '))
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

/// How many buckets sessions are spread over on a cluster: each bucket is
/// one hash slot holding its sessions, their locks and its share of every
/// user index.
pub(crate) const BUCKETS: u32 = 64;

/// Where a store's keys are: a single Redis, or hash-tagged by bucket for a
/// cluster.
#[derive(Debug, Clone)]
pub(crate) struct Keys {
    prefix: String,
    slotted: bool,
}

impl Keys {
    pub(crate) fn new(prefix: impl Into<String>, slotted: bool) -> Self {
        Keys {
            prefix: prefix.into(),
            slotted,
        }
    }

    /// The hash tag of a bucket (empty on a single Redis).
    fn tag(&self, bucket: u32) -> String {
        if self.slotted {
            format!("{{sk{bucket}}}")
        } else {
            String::new()
        }
    }

    /// The bucket of a session id: FNV-1a of its bytes.
    fn bucket(session_id: &str) -> u32 {
        let hash = session_id.bytes().fold(0x811c_9dc5_u32, |h, b| {
            (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
        });
        hash % BUCKETS
    }

    /// The tag of a session's keys.
    fn session_tag(&self, session_id: &str) -> String {
        self.tag(Self::bucket(session_id))
    }

    /// The tags a user's sessions can be under: one per bucket on a
    /// cluster, the empty one on a single Redis.
    fn user_tags(&self) -> Vec<String> {
        if self.slotted {
            (0..BUCKETS).map(|b| self.tag(b)).collect()
        } else {
            vec![String::new()]
        }
    }

    fn session_prefix(&self, tag: &str) -> String {
        format!("{}{tag}session:", self.prefix)
    }

    fn session_key(&self, id: &str) -> String {
        format!("{}{}session:{id}", self.prefix, self.session_tag(id))
    }

    fn user_key(&self, tag: &str, user_id: &str) -> String {
        format!("{}{tag}user:{user_id}", self.prefix)
    }

    fn lock_key(&self, id: &str) -> String {
        format!("{}{}lock:{id}", self.prefix, self.session_tag(id))
    }
}

/// How a Redis store reaches its server(s): one Redis through a connection
/// manager, or a cluster through the cluster client.
pub(crate) trait Connector: Clone + Send + Sync + 'static {
    /// A connection, cheap to clone (multiplexed).
    type Connection: ConnectionLike + Clone + Send + Sync + 'static;

    /// Makes the connection (on first use), each attempt bounded by
    /// `timeout`.
    fn connect(
        &self,
        timeout: Duration,
    ) -> impl Future<Output = redis::RedisResult<Self::Connection>> + Send;
}

/// One Redis, through a connection manager that reconnects on next use.
#[derive(Clone)]
pub(crate) struct Single(redis::Client);

impl Connector for Single {
    type Connection = ConnectionManager;

    async fn connect(&self, timeout: Duration) -> redis::RedisResult<ConnectionManager> {
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            // No reconnection attempts in the background: the next
            // operation starts one.
            .set_number_of_retries(0);
        ConnectionManager::new_lazy_with_config(self.0.clone(), config)
    }
}

/// The scripts and the operations of a Redis store, whatever reaches the
/// server(s): both the single-node and the cluster store are this.
#[derive(Clone)]
pub(crate) struct Engine<C: Connector> {
    connector: C,
    connection: Arc<OnceCell<C::Connection>>,
    timeout: Duration,
    keys: Keys,
    create: redis::Script,
    replace: redis::Script,
    remove_user: redis::Script,
    lock: redis::Script,
    unlock: redis::Script,
}

impl<C: Connector> std::fmt::Debug for Engine<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("prefix", &self.keys.prefix)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl<C: Connector> Engine<C> {
    pub(crate) fn new(connector: C, keys: Keys) -> Self {
        Engine {
            connector,
            connection: Arc::new(OnceCell::new()),
            timeout: DEFAULT_TIMEOUT,
            keys,
            create: redis::Script::new(&format!("{EXTEND_INDEX}{CREATE}")),
            replace: redis::Script::new(&format!("{EXTEND_INDEX}{REPLACE}")),
            remove_user: redis::Script::new(REMOVE_USER),
            lock: redis::Script::new(LOCK),
            unlock: redis::Script::new(UNLOCK),
        }
    }

    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }

    pub(crate) fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout.max(Duration::from_millis(1));
    }

    pub(crate) fn set_prefix(&mut self, prefix: impl Into<String>) {
        self.keys.prefix = prefix.into();
    }

    pub(crate) fn prefix(&self) -> &str {
        &self.keys.prefix
    }

    /// The connection, made on first use (it needs the runtime).
    async fn connection(&self) -> Result<C::Connection, StoreError> {
        let timeout = self.timeout.min(MAX_STORE_TTL);
        self.connection
            .get_or_try_init(|| self.connector.connect(timeout))
            .await
            .cloned()
            .map_err(unavailable)
    }

    /// Runs `op` on the connection within the timeout, once more after a
    /// refused or dropped connection.
    async fn run<T, F, Fut>(&self, op: F) -> Result<T, StoreError>
    where
        F: Fn(C::Connection) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        let attempts = async {
            let first = op(self.connection().await?).await;
            match first {
                Err(err) if retryable(&err) => {
                    tracing::debug!(error = %err, "Redis connection lost; trying once more");
                    op(self.connection().await?).await.map_err(unavailable)
                }
                other => other.map_err(unavailable),
            }
        };
        match tokio::time::timeout(self.timeout, attempts).await {
            Ok(result) => result,
            Err(_) => {
                tracing::warn!(timeout = ?self.timeout, "Redis session store timed out");
                Err(StoreError::Unavailable)
            }
        }
    }

    /// Sends a `PING` (on a cluster: to one node).
    pub(crate) async fn ping(&self) -> Result<(), StoreError> {
        self.run(|mut con| async move {
            redis::cmd("PING")
                .query_async::<String>(&mut con)
                .await
                .map(|_| ())
        })
        .await
    }
}

impl<C: Connector> SessionStore for Engine<C> {
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
        let tag = self.keys.session_tag(session_id);
        let (session_key, user_key, prefix) = (
            self.keys.session_key(session_id),
            self.keys.user_key(&tag, user_id),
            self.keys.session_prefix(&tag),
        );
        Box::pin(async move {
            self.run(|mut con| {
                let mut invocation = self.create.key(&session_key);
                invocation
                    .key(&user_key)
                    .arg(sealed)
                    .arg(millis(ttl))
                    .arg(session_id)
                    .arg(&prefix);
                async move { invocation.invoke_async::<u64>(&mut con).await }
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
        let tag = self.keys.session_tag(session_id);
        let (session_key, user_key) = (
            self.keys.session_key(session_id),
            self.keys.user_key(&tag, user_id),
        );
        Box::pin(async move {
            // One id for the write and its repetition (see the module docs).
            let write_id = write_id()?;
            let version: u64 = self
                .run(|mut con| {
                    let mut invocation = self.replace.key(&session_key);
                    invocation
                        .key(&user_key)
                        .arg(expected)
                        .arg(sealed)
                        .arg(millis(ttl))
                        .arg(session_id)
                        .arg(&write_id)
                        .arg(RECENT_WRITES);
                    async move { invocation.invoke_async::<u64>(&mut con).await }
                })
                .await?;
            Ok((version != 0).then_some(version))
        })
    }

    fn load<'a>(
        &'a self,
        session_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<StoredSession>, StoreError>> {
        let session_key = self.keys.session_key(session_id);
        Box::pin(async move {
            let (version, sealed): (Option<u64>, Option<Vec<u8>>) = self
                .run(|mut con| {
                    let mut command = redis::cmd("HMGET");
                    command.arg(&session_key).arg("v").arg("d");
                    async move { command.query_async(&mut con).await }
                })
                .await?;
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
        let tag = self.keys.session_tag(session_id);
        let (session_key, user_key) = (
            self.keys.session_key(session_id),
            self.keys.user_key(&tag, user_id),
        );
        Box::pin(async move {
            self.run(|mut con| {
                let mut pipe = redis::pipe();
                pipe.atomic().del(&session_key).srem(&user_key, session_id);
                async move { pipe.query_async::<()>(&mut con).await }
            })
            .await
        })
    }

    fn remove_user<'a>(&'a self, user_id: &'a str) -> BoxFuture<'a, Result<u64, StoreError>> {
        Box::pin(async move {
            // One script per bucket (one on a single Redis), all at once.
            let removals = self.keys.user_tags().into_iter().map(|tag| {
                let (user_key, prefix) = (
                    self.keys.user_key(&tag, user_id),
                    self.keys.session_prefix(&tag),
                );
                async move {
                    self.run(|mut con| {
                        let mut invocation = self.remove_user.key(&user_key);
                        invocation.arg(&prefix);
                        async move { invocation.invoke_async::<u64>(&mut con).await }
                    })
                    .await
                }
            });
            let counts = futures_join_all(removals).await;
            counts.into_iter().sum()
        })
    }

    fn try_lock<'a>(
        &'a self,
        session_id: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<Option<String>, StoreError>> {
        let lock_key = self.keys.lock_key(session_id);
        Box::pin(async move {
            let token = crate::oauth::generate_state().map_err(|_| StoreError::Unavailable)?;
            let acquired: i64 = self
                .run(|mut con| {
                    let mut invocation = self.lock.key(&lock_key);
                    invocation.arg(&token).arg(millis(ttl));
                    async move { invocation.invoke_async::<i64>(&mut con).await }
                })
                .await?;
            Ok((acquired == 1).then_some(token))
        })
    }

    fn unlock<'a>(
        &'a self,
        session_id: &'a str,
        token: &'a str,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        let lock_key = self.keys.lock_key(session_id);
        Box::pin(async move {
            self.run(|mut con| {
                let mut invocation = self.unlock.key(&lock_key);
                invocation.arg(token);
                async move { invocation.invoke_async::<i64>(&mut con).await.map(|_| ()) }
            })
            .await
        })
    }
}

/// Runs every future at once; their results in order.
async fn futures_join_all<F: Future>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    let mut set: Vec<_> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = set.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in set.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(value) => *output = Some(value),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}

/// Delegates [`SessionStore`] to the store's engine.
macro_rules! delegate_session_store {
    ($store:ty) => {
        impl SessionStore for $store {
            fn mode(&self) -> SessionMode {
                self.engine.mode()
            }

            fn create<'a>(
                &'a self,
                session_id: &'a str,
                user_id: &'a str,
                sealed: &'a [u8],
                ttl: Duration,
            ) -> BoxFuture<'a, Result<u64, StoreError>> {
                self.engine.create(session_id, user_id, sealed, ttl)
            }

            fn replace<'a>(
                &'a self,
                session_id: &'a str,
                user_id: &'a str,
                expected: u64,
                sealed: &'a [u8],
                ttl: Duration,
            ) -> BoxFuture<'a, Result<Option<u64>, StoreError>> {
                self.engine
                    .replace(session_id, user_id, expected, sealed, ttl)
            }

            fn load<'a>(
                &'a self,
                session_id: &'a str,
            ) -> BoxFuture<'a, Result<Option<StoredSession>, StoreError>> {
                self.engine.load(session_id)
            }

            fn remove<'a>(
                &'a self,
                session_id: &'a str,
                user_id: &'a str,
            ) -> BoxFuture<'a, Result<(), StoreError>> {
                self.engine.remove(session_id, user_id)
            }

            fn remove_user<'a>(
                &'a self,
                user_id: &'a str,
            ) -> BoxFuture<'a, Result<u64, StoreError>> {
                self.engine.remove_user(user_id)
            }

            fn try_lock<'a>(
                &'a self,
                session_id: &'a str,
                ttl: Duration,
            ) -> BoxFuture<'a, Result<Option<String>, StoreError>> {
                self.engine.try_lock(session_id, ttl)
            }

            fn unlock<'a>(
                &'a self,
                session_id: &'a str,
                token: &'a str,
            ) -> BoxFuture<'a, Result<(), StoreError>> {
                self.engine.unlock(session_id, token)
            }
        }
    };
}
#[cfg_attr(not(feature = "redis-cluster"), allow(unused_imports))]
pub(crate) use delegate_session_store;

/// Sessions in Redis, under a key prefix (default `scalekit:`).
///
/// `redis://` and `rediss://` (TLS, verified against the system's root
/// certificates, or the CA of
/// [`connect_with_root_certificates`](RedisStore::connect_with_root_certificates))
/// URLs are both accepted.
///
/// Every operation is bounded in time ([`RedisStore::timeout`], 2 s by
/// default, connecting included): while Redis cannot be reached, operations
/// fail with [`StoreError::Unavailable`] within that time (the session
/// requests answer `503` with `Retry-After`), and the store reconnects by
/// itself once Redis is back. An operation that failed because the
/// connection was refused or had dropped is tried once more on a new
/// connection within the same bound (every operation is safe to repeat: a
/// conditional write carries a random id, so that its repetition after a
/// lost answer is recognised and not applied twice).
///
/// ```no_run
/// # async fn demo() -> Result<(), scalekit_core::session::StoreError> {
/// use scalekit_core::session::RedisStore;
///
/// // Connects now, and fails if Redis cannot be reached:
/// let store = RedisStore::connect("rediss://redis.internal:6380/").await?;
/// // Or connects on first use (for start-up before Redis is up):
/// let lazy = RedisStore::open("redis://127.0.0.1:6379/")?;
/// # let _ = (store, lazy); Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisStore {
    engine: Engine<Single>,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.engine.prefix())
            .field("timeout", &self.engine.timeout())
            .finish_non_exhaustive()
    }
}

fn unavailable(err: redis::RedisError) -> StoreError {
    tracing::warn!(error = %err, "Redis session store error");
    StoreError::Unavailable
}

/// Whether a failed operation may be sent again on a new connection: the
/// connection was refused or had dropped (not a timeout: a Redis that is
/// slow is not asked twice).
fn retryable(err: &redis::RedisError) -> bool {
    !err.is_timeout() && (err.is_connection_refusal() || err.is_connection_dropped())
}

impl RedisStore {
    /// Connects to Redis at `url` (`redis://host:port/db`, or `rediss://`
    /// for TLS) and checks that it answers: fails with
    /// [`StoreError::Unavailable`] if it does not within the timeout. A
    /// lost connection is re-established by itself.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::open(url)?.checked().await
    }

    /// A store for the Redis at `url` that connects on first use: nothing
    /// is sent until a session is read or written, so an application can
    /// start while Redis is still coming up (its session requests answer
    /// `503` until then). Fails only for a URL that is not a Redis URL
    /// ([`StoreError::InvalidUrl`]).
    pub fn open(url: &str) -> Result<Self, StoreError> {
        let client = redis::Client::open(url).map_err(|err| {
            tracing::warn!(error = %err, "not a Redis URL");
            StoreError::InvalidUrl
        })?;
        Ok(Self::with_client(client))
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
        let client = redis::Client::build_with_tls(url, certificates).map_err(|err| {
            tracing::warn!(error = %err, "not a Redis URL or CA certificate");
            StoreError::InvalidUrl
        })?;
        Self::with_client(client).checked().await
    }

    fn with_client(client: redis::Client) -> Self {
        RedisStore {
            engine: Engine::new(Single(client), Keys::new("scalekit:", false)),
        }
    }

    /// Sends a `PING`: the store answers, or [`StoreError::Unavailable`].
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.engine.ping().await
    }

    async fn checked(self) -> Result<Self, StoreError> {
        self.ping().await?;
        Ok(self)
    }

    /// Uses another key prefix (several applications on one Redis).
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.engine.set_prefix(prefix);
        self
    }

    /// Bounds every operation (connecting, sending, the answer, and the one
    /// repetition after a dropped connection) to `timeout` (default 2 s):
    /// past it, the operation fails with [`StoreError::Unavailable`].
    /// Applies to connections made after the call: set it before first
    /// use.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.engine.set_timeout(timeout);
        self
    }
}

delegate_session_store!(RedisStore);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_s_keys_share_one_hash_tag_on_a_cluster_and_none_on_one_redis() {
        let single = Keys::new("scalekit:", false);
        assert_eq!(single.session_key("abc"), "scalekit:session:abc");
        assert_eq!(single.lock_key("abc"), "scalekit:lock:abc");
        assert_eq!(
            single.user_key(&single.session_tag("abc"), "usr_1"),
            "scalekit:user:usr_1"
        );
        assert_eq!(single.user_tags(), vec![String::new()]);

        let slotted = Keys::new("scalekit:", true);
        let mut buckets = std::collections::BTreeSet::new();
        for i in 0..1000 {
            let id = format!("session-{i}");
            let tag = slotted.session_tag(&id);
            assert!(tag.starts_with("{sk") && tag.ends_with('}'), "{tag}");
            let hash_tag =
                |key: &str| key[key.find('{').unwrap()..=key.find('}').unwrap()].to_owned();
            assert_eq!(hash_tag(&slotted.session_key(&id)), tag);
            assert_eq!(hash_tag(&slotted.lock_key(&id)), tag);
            assert_eq!(hash_tag(&slotted.user_key(&tag, "usr_1")), tag);
            assert!(slotted.session_prefix(&tag).ends_with("session:"));
            buckets.insert(tag);
        }
        // Sessions spread over every bucket; sign-out everywhere visits each.
        assert_eq!(buckets.len(), BUCKETS as usize);
        assert_eq!(slotted.user_tags().len(), BUCKETS as usize);
    }

    #[test]
    fn only_lost_connections_are_tried_again() {
        use std::io::{Error, ErrorKind};
        for kind in [
            ErrorKind::ConnectionRefused,
            ErrorKind::ConnectionReset,
            ErrorKind::BrokenPipe,
            ErrorKind::UnexpectedEof,
        ] {
            assert!(
                retryable(&redis::RedisError::from(Error::from(kind))),
                "{kind:?}"
            );
        }
        assert!(!retryable(&redis::RedisError::from(Error::from(
            ErrorKind::TimedOut
        ))));
        assert!(!retryable(&redis::RedisError::from((
            redis::ErrorKind::Client,
            "refused by the client"
        ))));
    }

    #[test]
    fn redis_write_ids_are_random_hex_without_separators() {
        let (a, b) = (write_id().unwrap(), write_id().unwrap());
        assert_ne!(a, b);
        for id in [a, b] {
            assert_eq!(id.len(), 32);
            assert!(
                id.bytes()
                    .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
            );
        }
    }

    #[test]
    fn only_redis_urls_open() {
        assert!(RedisStore::open("redis://127.0.0.1:6379/0").is_ok());
        for url in ["http://127.0.0.1/", "127.0.0.1:6379", ""] {
            assert_eq!(
                RedisStore::open(url).map(|_| ()),
                Err(StoreError::InvalidUrl),
                "{url}"
            );
        }
    }

    #[test]
    fn rediss_urls_are_understood() {
        // Without TLS support compiled in, the redis crate refuses the URL.
        assert!(redis::Client::open("rediss://127.0.0.1:6380/").is_ok());
    }
}
