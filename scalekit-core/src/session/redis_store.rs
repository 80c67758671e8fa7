//! A Redis session store: the cookie carries only the session id; several
//! application instances share sessions, "sign out everywhere" works, and
//! the refresh lock holds across instances.

use std::time::Duration;

use redis::AsyncCommands as _;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::Session;
use super::store::{BoxFuture, SessionStore, StoreError};

const UNLOCK: &str = r"if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

/// Sessions in Redis, under a key prefix (default `scalekit:`).
///
/// ```no_run
/// # async fn demo() -> Result<(), scalekit_core::session::StoreError> {
/// use scalekit_core::session::RedisStore;
///
/// let store = RedisStore::connect("redis://127.0.0.1:6379/").await?;
/// # let _ = store; Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisStore {
    connection: ConnectionManager,
    prefix: String,
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

impl RedisStore {
    /// Connects to Redis at `url` (`redis://host:port/db`). Operations time
    /// out after 2 s; a lost connection is re-established in the background.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let client = redis::Client::open(url).map_err(unavailable)?;
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
        })
    }

    /// Uses another key prefix (several applications on one Redis).
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
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

    async fn get(&self, id: &str) -> Result<Option<Session>, StoreError> {
        let mut con = self.connection.clone();
        let raw: Option<Vec<u8>> = con.get(self.session_key(id)).await.map_err(unavailable)?;
        match raw {
            None => Ok(None),
            Some(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|_| StoreError::Corrupt),
        }
    }
}

impl SessionStore for RedisStore {
    fn is_server_side(&self) -> bool {
        true
    }

    fn save<'a>(
        &'a self,
        session: &'a Session,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<Vec<u8>, StoreError>> {
        Box::pin(async move {
            let json = serde_json::to_vec(session).map_err(|_| StoreError::Corrupt)?;
            let secs = ttl.as_secs().max(1);
            let user_key = self.user_key(&session.user.id);
            let mut con = self.connection.clone();
            redis::pipe()
                .atomic()
                .set_ex(self.session_key(&session.id), json, secs)
                .sadd(&user_key, &session.id)
                .expire(&user_key, i64::try_from(secs).unwrap_or(i64::MAX))
                .query_async::<()>(&mut con)
                .await
                .map_err(unavailable)?;
            Ok(session.id.clone().into_bytes())
        })
    }

    fn load_by_id<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<Session>, StoreError>> {
        Box::pin(self.get(id))
    }

    fn remove<'a>(&'a self, session: &'a Session) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let mut con = self.connection.clone();
            redis::pipe()
                .atomic()
                .del(self.session_key(&session.id))
                .srem(self.user_key(&session.user.id), &session.id)
                .query_async::<()>(&mut con)
                .await
                .map_err(unavailable)
        })
    }

    fn remove_user<'a>(&'a self, user_id: &'a str) -> BoxFuture<'a, Result<u64, StoreError>> {
        Box::pin(async move {
            let mut con = self.connection.clone();
            let user_key = self.user_key(user_id);
            let ids: Vec<String> = con.smembers(&user_key).await.map_err(unavailable)?;
            let mut pipe = redis::pipe();
            pipe.atomic();
            for id in &ids {
                pipe.del(self.session_key(id));
            }
            pipe.del(&user_key);
            let deleted: Vec<u64> = pipe.query_async(&mut con).await.map_err(unavailable)?;
            // The last count is the user index itself.
            Ok(deleted[..deleted.len().saturating_sub(1)].iter().sum())
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
            let ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
            let acquired: Option<String> = redis::cmd("SET")
                .arg(self.lock_key(session_id))
                .arg(&token)
                .arg("NX")
                .arg("PX")
                .arg(ms)
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
            redis::Script::new(UNLOCK)
                .key(self.lock_key(session_id))
                .arg(token)
                .invoke_async::<i64>(&mut con)
                .await
                .map(|_| ())
                .map_err(unavailable)
        })
    }
}
