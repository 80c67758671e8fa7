//! The refresh coordinator: one refresh per session at a time, its result
//! shared with the concurrent requests of the session, and kept briefly so
//! that a request still carrying the old cookie gets the new tokens rather
//! than a second refresh (refresh tokens rotate).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_lc_rs::digest;

use super::store::{SessionStore, StoreError};
use super::{Session, SessionEnd, SessionError, SessionPolicy};
use crate::Scalekit;
use crate::claims::AccessTokenClaims;
use crate::oauth::{TokenError, User};

/// How long a refresh result is kept for requests with the old cookie.
const RECENT_TTL: Duration = Duration::from_secs(60);
/// Longest hold of the cross-instance refresh lock.
const LOCK_TTL: Duration = Duration::from_secs(10);

/// Coordinates refreshes (see the module docs). Cheap to clone.
///
/// Within one process, concurrent requests of a session share one refresh
/// whatever the store. Across instances, the store's lock does it: with
/// Redis, one instance refreshes and the others read its result; the
/// cookie-only and memory stores have no cross-instance state, so several
/// instances behind a load balancer should use Redis.
#[derive(Clone)]
pub struct RefreshCoordinator {
    scalekit: Scalekit,
    local: Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>,
    recent: moka::sync::Cache<String, Session>,
}

impl std::fmt::Debug for RefreshCoordinator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RefreshCoordinator").finish_non_exhaustive()
    }
}

/// The result of [`RefreshCoordinator::ensure_fresh`].
#[derive(Debug, Clone, PartialEq)]
pub enum Freshness {
    /// The session did not need a refresh (or could not be refreshed yet
    /// while its access token is still valid).
    Current(Session),
    /// The session was refreshed (here or by a concurrent request).
    Refreshed(Session),
}

fn fingerprint(session_id: &str, refresh_token: &str) -> String {
    let d = digest::digest(&digest::SHA256, refresh_token.as_bytes());
    let hex: String = d.as_ref()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{session_id}:{hex}")
}

fn transient(err: &TokenError) -> bool {
    match err {
        TokenError::Timeout | TokenError::Connect | TokenError::InvalidResponse => true,
        TokenError::Status(s) => *s >= 500,
        TokenError::OAuth { status, .. } => *status >= 500,
        _ => false,
    }
}

impl RefreshCoordinator {
    /// A coordinator refreshing through `scalekit`.
    pub fn new(scalekit: Scalekit) -> Self {
        RefreshCoordinator {
            scalekit,
            local: Arc::default(),
            recent: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(RECENT_TTL)
                .build(),
        }
    }

    fn local_lock(&self, id: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut map = self.local.lock().unwrap_or_else(|e| e.into_inner());
        map.retain(|_, lock| Arc::strong_count(lock) > 1);
        map.entry(id.to_owned()).or_default().clone()
    }

    /// Refreshes `session` when its access token is expired or expires
    /// within the policy's skew, at most once at a time per session (across
    /// instances when the store is shared). A refused refresh ends the
    /// session (it is removed from the store).
    pub async fn ensure_fresh(
        &self,
        store: &dyn SessionStore,
        policy: &SessionPolicy,
        session: Session,
    ) -> Result<Freshness, SessionError> {
        let now = crate::unix_time().as_secs();
        if !session.needs_refresh(now, policy.refresh_skew) {
            return Ok(Freshness::Current(session));
        }
        let Some(old_refresh) = session.refresh_token.clone() else {
            return self
                .end(store, &session, TokenError::MissingRefreshToken)
                .await;
        };
        let key = fingerprint(&session.id, &old_refresh);
        if let Some(newer) = self.recent.get(&key) {
            return Ok(Freshness::Refreshed(newer));
        }
        let lock = self.local_lock(&session.id);
        let _local = lock.lock().await;
        if let Some(newer) = self.recent.get(&key) {
            return Ok(Freshness::Refreshed(newer));
        }
        let token = self.cross_instance_lock(store, policy, &session).await?;
        let token = match token {
            Ok(token) => token,
            Err(newer) => return Ok(Freshness::Refreshed(newer)),
        };
        let result = self
            .refresh(store, policy, &session, &old_refresh, &key)
            .await;
        if let Err(err) = store.unlock(&session.id, &token).await {
            tracing::warn!(error = %err, "refresh lock not released; it expires by itself");
        }
        result
    }

    /// Takes the store's refresh lock, or returns the session refreshed by
    /// the instance that held it.
    async fn cross_instance_lock(
        &self,
        store: &dyn SessionStore,
        policy: &SessionPolicy,
        session: &Session,
    ) -> Result<Result<String, Session>, SessionError> {
        let deadline = Instant::now() + LOCK_TTL;
        loop {
            if store.is_server_side()
                && let Some(stored) = store.load_by_id(&session.id).await?
                && stored.refresh_token != session.refresh_token
                && !stored.needs_refresh(crate::unix_time().as_secs(), policy.refresh_skew)
            {
                return Ok(Err(stored));
            }
            if let Some(token) = store.try_lock(&session.id, LOCK_TTL).await? {
                // Re-read under the lock: the holder may have finished
                // between the check above and the lock.
                if store.is_server_side()
                    && let Some(stored) = store.load_by_id(&session.id).await?
                    && stored.refresh_token != session.refresh_token
                {
                    store.unlock(&session.id, &token).await?;
                    return Ok(Err(stored));
                }
                return Ok(Ok(token));
            }
            if Instant::now() >= deadline {
                return Err(StoreError::LockTimeout.into());
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    async fn refresh(
        &self,
        store: &dyn SessionStore,
        policy: &SessionPolicy,
        session: &Session,
        old_refresh: &str,
        key: &str,
    ) -> Result<Freshness, SessionError> {
        let response = match self.scalekit.refresh_access_token(old_refresh).await {
            Ok(response) => response,
            Err(err) => {
                let now = crate::unix_time().as_secs();
                if transient(&err) && session.expires_at > now {
                    tracing::warn!(error = %err, "refresh failed transiently; the access token is still valid");
                    return Ok(Freshness::Current(session.clone()));
                }
                return self.end(store, session, err).await;
            }
        };
        let claims: AccessTokenClaims =
            match self.scalekit.validate_token(&response.access_token).await {
                Ok(claims) => claims,
                Err(err) => return self.end(store, session, TokenError::IdToken(err)).await,
            };
        let mut user = session.user.clone();
        if let Some(id_token) = &response.id_token {
            match self.scalekit.verify_id_token(id_token, None).await {
                Ok(claims) => user = User::from_claims(&claims),
                Err(err) => return self.end(store, session, err).await,
            }
        }
        let now = crate::unix_time().as_secs();
        let refreshed = Session {
            id: session.id.clone(),
            user,
            access_token: response.access_token,
            refresh_token: response.refresh_token,
            id_token: response.id_token.or_else(|| session.id_token.clone()),
            expires_at: u64::try_from(claims.exp).unwrap_or(0),
            created_at: session.created_at,
            last_seen: now,
        };
        store
            .save(&refreshed, policy.remaining(&refreshed, now))
            .await?;
        self.recent.insert(key.to_owned(), refreshed.clone());
        tracing::info!(user = %refreshed.user.id, "session refreshed");
        Ok(Freshness::Refreshed(refreshed))
    }

    async fn end(
        &self,
        store: &dyn SessionStore,
        session: &Session,
        err: TokenError,
    ) -> Result<Freshness, SessionError> {
        tracing::info!(user = %session.user.id, error = %err, "session ended: refresh failed");
        if let Err(store_err) = store.remove(session).await {
            tracing::warn!(error = %store_err, "could not remove an ended session");
        }
        Err(SessionEnd::RefreshFailed(err).into())
    }
}
