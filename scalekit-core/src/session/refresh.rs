//! The refresh coordinator: one refresh per session at a time, its result
//! shared with the concurrent requests of the session, and kept briefly so
//! that a request still carrying the old cookie gets the new tokens rather
//! than a second refresh (refresh tokens rotate).
//!
//! Across instances sharing a server-side store, the store's lock is leased
//! for longer than a refresh may take ([`SessionPolicy::refresh_timeout`]
//! plus a margin, the refresh being abandoned at its timeout), and its
//! holder re-reads the session under it: if another instance rotated the
//! tokens meanwhile, their result is used. The refreshed session is written
//! back only if the store still holds the version that was read, so a
//! session removed during the refresh stays removed.
//!
//! Only a refused refresh ends a session. A transient failure (timeout,
//! server error, connection error, keys unavailable) keeps it: the request
//! is served with the current access token while it is valid, else it
//! fails with [`SessionError::RefreshUnavailable`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_lc_rs::digest;

use super::store::{Replaced, SealedStore, SessionMode, StoreError};
use super::{Session, SessionEnd, SessionError, SessionPolicy};
use crate::client::Scalekit;
use crate::oauth::{TokenError, User};
use crate::validate::ValidationError;

/// How long a refresh result is kept for requests with the old cookie.
const RECENT_TTL: Duration = Duration::from_secs(60);
/// Longest refresh timeout honoured (longer configured ones are cut to it).
const MAX_REFRESH_TIMEOUT: Duration = Duration::from_secs(300);
/// The lock lease's margin over the refresh timeout: the conditional write
/// after the refresh (2 s store timeout) and clock drift between instances.
const LEASE_MARGIN: Duration = Duration::from_secs(5);
/// How often a waiting instance looks at the lock again.
const LOCK_POLL: Duration = Duration::from_millis(50);
/// How many times a refreshed session is written again over a concurrent
/// "last seen" update.
const WRITE_ATTEMPTS: usize = 3;

/// The longest a refresh may take under `policy`.
fn refresh_budget(policy: &SessionPolicy) -> Duration {
    policy.refresh_timeout.min(MAX_REFRESH_TIMEOUT)
}

/// The lease of the cross-instance refresh lock under `policy`: longer than
/// the longest refresh.
pub(crate) fn lock_lease(policy: &SessionPolicy) -> Duration {
    refresh_budget(policy).saturating_add(LEASE_MARGIN)
}

/// `now + d`, or `now` should that not be representable.
fn deadline_after(d: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(d).unwrap_or(now)
}

/// Coordinates refreshes (see the module docs). Cheap to clone.
///
/// Within one process, concurrent requests of a session share one refresh
/// whatever the store. Across instances, the store's lock does it: with
/// Redis, one instance refreshes and the others read its result; the
/// cookie-only and memory stores have no cross-instance state, so several
/// instances behind a load balancer should use Redis.
///
/// The outcome of a failed refresh is shared too: the requests of the
/// process that carry the same refresh token get it without another call
/// to the platform (a refusal for a minute; a transient failure only with
/// the requests that were waiting for that attempt, later ones try again).
/// With Redis, a refusal removes the session, which is what the
/// other instances then find.
///
/// A refusal (`invalid_grant` above all: the session was revoked, the user
/// removed, the refresh token reused after its grace window) is final: the
/// session ends on that request. Cookie-only sessions behind several
/// instances may refresh the same session at once; the platform keeps the
/// previous refresh token valid for about 30 s after rotating it, so both
/// instances get tokens and neither is refused.
#[derive(Clone)]
pub(crate) struct RefreshCoordinator {
    scalekit: Scalekit,
    local: Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>,
    recent: moka::sync::Cache<String, Session>,
    failed: moka::sync::Cache<String, Failed>,
}

/// A refresh that failed, kept (by the fingerprint of the refresh token it
/// presented) for the requests that carry the same refresh token: they get
/// its outcome without another call to the platform.
#[derive(Clone)]
enum Failed {
    /// Refused: the session ends.
    Refused(SessionEnd),
    /// Timed out or unavailable.
    Transient { at: Instant, reason: String },
}

impl std::fmt::Debug for RefreshCoordinator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RefreshCoordinator").finish_non_exhaustive()
    }
}

/// The result of [`RefreshCoordinator::ensure_fresh`].
#[derive(Debug, Clone, PartialEq)]
// `Refreshed` is the rare case, returned once and moved at once.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Freshness {
    /// The session did not need a refresh (or could not be refreshed yet
    /// while its access token is still valid).
    Current(Arc<Session>),
    /// The session was refreshed (here or by a concurrent request) and, with
    /// a server-side store, written back.
    Refreshed(Session),
}

/// Why a refresh did not produce a session.
enum Failure {
    /// Try again later; the session is kept.
    Transient(String),
    /// The refresh was refused; the session ends.
    Refused(SessionEnd),
}

fn fingerprint(session_id: &str, refresh_token: &str) -> String {
    let d = digest::digest(&digest::SHA256, refresh_token.as_bytes());
    let hex: String = d.as_ref()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{session_id}:{hex}")
}

fn classify(err: TokenError) -> Failure {
    if err.is_transient() {
        Failure::Transient(err.to_string())
    } else {
        Failure::Refused(SessionEnd::RefreshFailed(err))
    }
}

/// What taking the cross-instance lock gave.
enum Locked {
    /// The lock, and the session as stored under it (the one to refresh).
    Acquired { token: String, base: Session },
    /// Another instance refreshed the session meanwhile.
    Done(Session),
}

impl RefreshCoordinator {
    /// A coordinator refreshing through `scalekit`.
    pub(crate) fn new(scalekit: Scalekit) -> Self {
        RefreshCoordinator {
            scalekit,
            local: Arc::default(),
            recent: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(RECENT_TTL)
                .build(),
            failed: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(RECENT_TTL)
                .build(),
        }
    }

    /// What a request carrying the refresh token of `key`, that arrived at
    /// `arrived`, gets from a recent failure with it, if there was one (and
    /// it still applies).
    async fn settled(
        &self,
        store: &SealedStore,
        key: &str,
        session: &Session,
        arrived: Instant,
    ) -> Option<Result<Freshness, SessionError>> {
        match self.failed.get(key)? {
            Failed::Refused(end) => Some(Err(store.end(session, end).await)),
            // Waited for the attempt that failed: its answer, not another.
            Failed::Transient { at, reason } if at >= arrived => {
                Some(Self::unavailable(session.clone(), &reason))
            }
            Failed::Transient { .. } => None,
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
    /// session (it is removed from the store); a transient failure keeps it.
    pub(crate) async fn ensure_fresh(
        &self,
        store: &SealedStore,
        policy: &SessionPolicy,
        session: Arc<Session>,
    ) -> Result<Freshness, SessionError> {
        let now = crate::util::unix_time().as_secs();
        if !session.needs_refresh(now, policy.refresh_skew) {
            return Ok(Freshness::Current(session));
        }
        use tracing::Instrument;
        let span = tracing::info_span!(
            "scalekit.refresh",
            user_id = %session.user.id,
            session = tracing::field::Empty,
            outcome = tracing::field::Empty,
        );
        crate::telemetry::record_session(&span, &session.id);
        let result = self
            .refresh_due(store, policy, session)
            .instrument(span.clone())
            .await;
        span.record(
            "outcome",
            match &result {
                Ok(Freshness::Refreshed(_)) => "refreshed",
                Ok(Freshness::Current(_)) => "kept",
                Err(SessionError::RefreshUnavailable) => "unavailable",
                Err(SessionError::Ended(_)) => "ended",
                Err(_) => "error",
            },
        );
        result
    }

    /// [`RefreshCoordinator::ensure_fresh`] for a session that is due.
    async fn refresh_due(
        &self,
        store: &SealedStore,
        policy: &SessionPolicy,
        session: Arc<Session>,
    ) -> Result<Freshness, SessionError> {
        let session = Arc::unwrap_or_clone(session);
        let Some(old_refresh) = session.refresh_token.clone() else {
            let end = SessionEnd::RefreshFailed(TokenError::MissingRefreshToken);
            return Err(store.end(&session, end).await);
        };
        let arrived = Instant::now();
        let key = fingerprint(&session.id, &old_refresh);
        if let Some(newer) = self.recent.get(&key) {
            return Ok(Freshness::Refreshed(newer));
        }
        if let Some(outcome) = self.settled(store, &key, &session, arrived).await {
            return outcome;
        }
        let lock = self.local_lock(&session.id);
        let _local = lock.lock().await;
        if let Some(newer) = self.recent.get(&key) {
            return Ok(Freshness::Refreshed(newer));
        }
        if let Some(outcome) = self.settled(store, &key, &session, arrived).await {
            return outcome;
        }
        let id = session.id.clone();
        let (token, base) = match self.cross_instance_lock(store, policy, session).await? {
            Locked::Acquired { token, base } => (token, base),
            Locked::Done(newer) => return Ok(Freshness::Refreshed(newer)),
        };
        let result = self.refresh(store, policy, base, &key).await;
        release(store, &id, &token).await;
        result
    }

    /// Takes the store's refresh lock and re-reads the session under it, or
    /// returns the session refreshed by the instance that held it.
    async fn cross_instance_lock(
        &self,
        store: &SealedStore,
        policy: &SessionPolicy,
        session: Session,
    ) -> Result<Locked, SessionError> {
        let lease = lock_lease(policy);
        // A waiter gives up a little after the holder's lease has expired.
        let deadline = deadline_after(lease.saturating_add(Duration::from_secs(1)));
        let server_side = store.mode() == SessionMode::ServerSide;
        loop {
            if server_side {
                match store.load(&session.id).await? {
                    None => return Err(SessionEnd::Removed.into()),
                    Some(stored)
                        if stored.refresh_token != session.refresh_token
                            && !stored.needs_refresh(
                                crate::util::unix_time().as_secs(),
                                policy.refresh_skew,
                            ) =>
                    {
                        return Ok(Locked::Done(stored));
                    }
                    Some(_) => {}
                }
            }
            if let Some(token) = store.store.try_lock(&session.id, lease).await? {
                if !server_side {
                    return Ok(Locked::Acquired {
                        token,
                        base: session,
                    });
                }
                // Re-read under the lock: the holder may have finished
                // between the check above and the lock, or the session may
                // have been removed.
                let base = match store.load(&session.id).await {
                    Ok(Some(stored)) if stored.refresh_token == session.refresh_token => stored,
                    other => {
                        release(store, &session.id, &token).await;
                        return match other? {
                            Some(stored) => Ok(Locked::Done(stored)),
                            None => Err(SessionEnd::Removed.into()),
                        };
                    }
                };
                return Ok(Locked::Acquired { token, base });
            }
            if Instant::now() >= deadline {
                return Err(StoreError::LockTimeout.into());
            }
            tokio::time::sleep(LOCK_POLL).await;
        }
    }

    /// Refreshes `base` (under the lock) and writes the result back.
    async fn refresh(
        &self,
        store: &SealedStore,
        policy: &SessionPolicy,
        base: Session,
        key: &str,
    ) -> Result<Freshness, SessionError> {
        use crate::telemetry::{RefreshOutcome, session_refresh};
        let started = Instant::now();
        let exchanged = tokio::time::timeout(refresh_budget(policy), self.exchange(&base)).await;
        let outcome = match &exchanged {
            Ok(Ok(_)) => RefreshOutcome::Refreshed,
            Ok(Err(Failure::Refused(_))) => RefreshOutcome::Refused,
            Ok(Err(Failure::Transient(_))) | Err(_) => RefreshOutcome::Transient,
        };
        session_refresh(outcome, started.elapsed());
        let failure = match exchanged {
            Ok(Ok(refreshed)) => {
                return self.refreshed(store, policy, &base, refreshed, key).await;
            }
            Ok(Err(failure)) => failure,
            Err(_) => Failure::Transient("the refresh took longer than its timeout".into()),
        };
        match failure {
            Failure::Refused(end) => {
                self.failed
                    .insert(key.to_owned(), Failed::Refused(end.clone()));
                Err(store.end(&base, end).await)
            }
            Failure::Transient(reason) => {
                self.failed.insert(
                    key.to_owned(),
                    Failed::Transient {
                        at: Instant::now(),
                        reason: reason.clone(),
                    },
                );
                Self::unavailable(base, &reason)
            }
        }
    }

    /// Writes a refreshed session back (server-side stores) and shares it
    /// with the requests that still carry the old refresh token.
    async fn refreshed(
        &self,
        store: &SealedStore,
        policy: &SessionPolicy,
        base: &Session,
        refreshed: Session,
        key: &str,
    ) -> Result<Freshness, SessionError> {
        let saved = if store.mode() == SessionMode::ServerSide {
            self.write_back(store, policy, base, refreshed).await?
        } else {
            refreshed
        };
        self.recent.insert(key.to_owned(), saved.clone());
        tracing::info!(user = ?saved.user.id, "session refreshed");
        Ok(Freshness::Refreshed(saved))
    }

    /// A transient failure: the session is kept, served with its access
    /// token while that is still valid.
    fn unavailable(base: Session, reason: &str) -> Result<Freshness, SessionError> {
        let now = crate::util::unix_time().as_secs();
        if base.expires_at > now {
            tracing::warn!(user = ?base.user.id, reason = ?reason, "refresh failed transiently; the access token is still valid");
            return Ok(Freshness::Current(Arc::new(base)));
        }
        tracing::warn!(user = ?base.user.id, reason = ?reason, "refresh failed transiently; the session is kept");
        Err(SessionError::RefreshUnavailable)
    }

    /// The token call and the verification of its answer.
    async fn exchange(&self, base: &Session) -> Result<Session, Failure> {
        let old_refresh =
            base.refresh_token
                .as_deref()
                .ok_or(Failure::Refused(SessionEnd::RefreshFailed(
                    TokenError::MissingRefreshToken,
                )))?;
        let response = self
            .scalekit
            .refresh_access_token(old_refresh)
            .await
            .map_err(classify)?;
        // Verified in full, and kept so that the session is served from
        // these claims without parsing the token again.
        let validator = self.scalekit.validator();
        let claims = match validator.verify_issued_access(&response.access_token).await {
            // Issued by the platform a moment ago with a key the cache does
            // not hold: the platform rotated its keys. Fetch them now (the
            // cooldown for unknown key ids is for tokens from requests) and
            // check again, rather than drop the rotated tokens.
            Err(ValidationError::UnknownKey { .. }) => {
                validator.keys().refetch_for_platform_token().await;
                validator.verify_issued_access(&response.access_token).await
            }
            other => other,
        }
        .map_err(|e| classify(TokenError::IdToken(e)))?;
        if claims.sub.as_deref().is_some_and(|sub| sub != base.user.id) {
            tracing::warn!(user = ?base.user.id, "the refreshed access token names another subject");
            return Err(Failure::Refused(SessionEnd::SubjectChanged));
        }
        let mut user = base.user.clone();
        if let Some(id_token) = &response.id_token {
            let id_claims = self
                .scalekit
                .verify_id_token(id_token, None)
                .await
                .map_err(classify)?;
            // OpenID Connect Core 12.2: the same `sub` as the original.
            if id_claims.sub != base.user.id {
                tracing::warn!(user = ?base.user.id, "the refreshed ID token names another subject");
                return Err(Failure::Refused(SessionEnd::SubjectChanged));
            }
            user = User::from_claims(&id_claims);
        }
        Ok(Session {
            id: base.id.clone(),
            user,
            access_token: response.access_token,
            refresh_token: response.refresh_token,
            id_token: response.id_token.or_else(|| base.id_token.clone()),
            expires_at: u64::try_from(claims.exp).unwrap_or(0),
            data: base.data.clone(),
            auth_method: base.auth_method,
            created_at: base.created_at,
            last_seen: crate::util::unix_time().as_secs().max(base.last_seen),
            version: base.version,
        })
    }

    /// Writes the refreshed session over `base` if the store still holds
    /// it, carrying over a concurrent "last seen" update. Should another
    /// instance have rotated the tokens meanwhile, theirs stand and are
    /// returned.
    async fn write_back(
        &self,
        store: &SealedStore,
        policy: &SessionPolicy,
        base: &Session,
        mut refreshed: Session,
    ) -> Result<Session, SessionError> {
        for _ in 0..WRITE_ATTEMPTS {
            let now = crate::util::unix_time().as_secs();
            match store
                .replace(&refreshed, policy.remaining(&refreshed, now))
                .await?
            {
                Replaced::Written(saved) => return Ok(saved),
                Replaced::Removed => {
                    tracing::info!(user = ?base.user.id, "session removed during its refresh; the new tokens are dropped");
                    return Err(SessionEnd::Removed.into());
                }
                Replaced::Changed(stored) if stored.refresh_token == base.refresh_token => {
                    // Only touched meanwhile: keep our tokens, on its version.
                    refreshed.version = stored.version;
                    refreshed.last_seen = refreshed.last_seen.max(stored.last_seen);
                    // Data the application wrote meanwhile is kept.
                    refreshed.data = stored.data;
                }
                Replaced::Changed(theirs) => return Ok(theirs),
            }
        }
        Err(StoreError::Conflict.into())
    }
}

/// Releases the refresh lock (a failure is logged: the lease ends it).
async fn release(store: &SealedStore, session_id: &str, token: &str) {
    if let Err(err) = store.store.unlock(session_id, token).await {
        tracing::warn!(error = %err, "refresh lock not released; it expires by itself");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::OAuthErrorCode;

    #[test]
    fn the_lease_outlasts_the_refresh_and_never_overflows() {
        let policy = SessionPolicy::default();
        assert!(lock_lease(&policy) > policy.refresh_timeout);
        let huge = SessionPolicy::default().refresh_timeout(Duration::MAX);
        assert_eq!(
            lock_lease(&huge),
            MAX_REFRESH_TIMEOUT.saturating_add(LEASE_MARGIN)
        );
        let _ = deadline_after(Duration::MAX);
    }

    #[test]
    fn only_refusals_are_final() {
        for err in [
            TokenError::Timeout,
            TokenError::Connect,
            TokenError::Status(503),
            TokenError::Status(429),
            TokenError::IdToken(ValidationError::KeysUnavailable),
        ] {
            assert!(err.is_transient(), "{err:?}");
        }
        for err in [
            TokenError::OAuth {
                status: 400,
                code: OAuthErrorCode::InvalidGrant,
                description: None,
            },
            TokenError::Status(401),
            TokenError::MissingRefreshToken,
            TokenError::NonceMismatch,
        ] {
            assert!(!err.is_transient(), "{err:?}");
        }
    }
}
