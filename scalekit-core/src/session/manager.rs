//! [`SessionManager`]: sessions in and out of cookies, timeouts enforced,
//! refreshes coordinated; and the login state cookie.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::codec::{CookieCodec, CookieError, CookieSettings, RequestCookies};
use super::refresh::{Freshness, RefreshCoordinator};
use super::store::{CookieStore, SessionStore, StoreError};
use super::{Session, SessionEnd, SessionError, SessionPolicy};
use crate::Scalekit;
use crate::claims::AccessTokenClaims;
use crate::oauth::{AuthenticationResponse, Pkce, TokenError, generate_nonce, generate_state};

/// Name of the login state cookie.
pub const LOGIN_STATE_COOKIE: &str = "sk_oauth_state";
/// Lifetime of the login state cookie.
pub const LOGIN_STATE_TTL: Duration = Duration::from_secs(600);

/// What a login must remember between the redirect to the platform and the
/// callback: `state`, `nonce`, the PKCE verifier and where to go afterwards.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginState {
    /// The CSRF `state` sent in the authorization URL.
    pub state: String,
    /// The `nonce` the ID token must echo.
    pub nonce: String,
    /// The PKCE verifier.
    pub code_verifier: String,
    /// A safe same-site path to return to after login.
    pub return_to: Option<String>,
    /// When the login started (Unix seconds).
    pub created_at: u64,
}

impl std::fmt::Debug for LoginState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginState")
            .field("return_to", &self.return_to)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

impl LoginState {
    /// Fresh `state`, `nonce` and PKCE verifier. `return_to` should already
    /// be checked with [`safe_return_to`](crate::oauth::safe_return_to).
    pub fn new(return_to: Option<String>) -> Result<Self, SessionError> {
        let random = |_| SessionError::Random;
        Ok(LoginState {
            state: generate_state().map_err(random)?,
            nonce: generate_nonce().map_err(random)?,
            code_verifier: Pkce::generate().map_err(random)?.verifier().to_owned(),
            return_to,
            created_at: crate::unix_time().as_secs(),
        })
    }

    /// The PKCE pair of the verifier.
    pub fn pkce(&self) -> Pkce {
        Pkce::from_verifier(&self.code_verifier)
    }
}

/// What [`SessionManager::resolve`] found.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    /// The live session, refreshed if it needed to be.
    pub session: Option<Session>,
    /// `Set-Cookie` values to send with the response (a refreshed or
    /// touched session, or cookies to clear).
    pub set_cookies: Vec<String>,
    /// Why the session the request carried has ended, if it has.
    pub ended: Option<SessionEnd>,
}

/// Sessions in and out of cookies, with a store, a policy and a refresh
/// coordinator.
///
/// ```no_run
/// # async fn demo(scalekit: scalekit_core::Scalekit) -> Result<(), Box<dyn std::error::Error>> {
/// use std::sync::Arc;
/// use scalekit_core::session::{CookieCodec, CookieSettings, RequestCookies, SessionManager, RedisStore};
///
/// let codec = CookieCodec::new([std::env::var("SESSION_SECRET")?])?;
/// let sessions = SessionManager::new(scalekit, codec, CookieSettings::for_base_url("https://app.example.com"))
///     .store(Arc::new(RedisStore::connect("redis://127.0.0.1/").await?));
/// let resolved = sessions.resolve(&RequestCookies::parse(["sk_session=…"])).await?;
/// if let Some(session) = resolved.session {
///     println!("signed in as {:?}", session.user.email);
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct SessionManager {
    scalekit: Scalekit,
    codec: Arc<CookieCodec>,
    settings: CookieSettings,
    policy: SessionPolicy,
    store: Arc<dyn SessionStore>,
    coordinator: RefreshCoordinator,
}

impl std::fmt::Debug for SessionManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionManager")
            .field("settings", &self.settings)
            .field("policy", &self.policy)
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

impl SessionManager {
    /// Cookie-only sessions sealed by `codec`.
    pub fn new(scalekit: Scalekit, codec: CookieCodec, settings: CookieSettings) -> Self {
        SessionManager {
            coordinator: RefreshCoordinator::new(scalekit.clone()),
            scalekit,
            codec: Arc::new(codec),
            settings,
            policy: SessionPolicy::default(),
            store: Arc::new(CookieStore),
        }
    }

    /// Uses another store (memory, Redis).
    pub fn store(mut self, store: Arc<dyn SessionStore>) -> Self {
        self.store = store;
        self
    }

    /// Uses another policy.
    pub fn policy(mut self, policy: SessionPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// The cookie settings.
    pub fn settings(&self) -> &CookieSettings {
        &self.settings
    }

    /// The Scalekit client.
    pub fn scalekit(&self) -> &Scalekit {
        &self.scalekit
    }

    /// Starts a session from a completed login; returns it and the
    /// `Set-Cookie` values that carry it.
    pub async fn start(
        &self,
        auth: &AuthenticationResponse,
        request: &RequestCookies<'_>,
    ) -> Result<(Session, Vec<String>), SessionError> {
        let claims: AccessTokenClaims = self
            .scalekit
            .validate_token(&auth.access_token)
            .await
            .map_err(|e| SessionError::Login(TokenError::IdToken(e)))?;
        let now = crate::unix_time().as_secs();
        let session = Session {
            id: Session::new_id().map_err(|_| SessionError::Random)?,
            user: auth.user.clone(),
            access_token: auth.access_token.clone(),
            refresh_token: auth.refresh_token.clone(),
            id_token: Some(auth.id_token.clone()),
            expires_at: u64::try_from(claims.exp).unwrap_or(0),
            created_at: now,
            last_seen: now,
        };
        let cookies = self.write(&session, request).await?;
        tracing::info!(user = %session.user.id, "session started");
        Ok((session, cookies))
    }

    /// Saves `session` and returns the `Set-Cookie` values that carry it
    /// (clearing chunks left from a larger value).
    pub async fn write(
        &self,
        session: &Session,
        request: &RequestCookies<'_>,
    ) -> Result<Vec<String>, SessionError> {
        let now = crate::unix_time().as_secs();
        let ttl = self.policy.remaining(session, now);
        let payload = self.store.save(session, ttl).await?;
        let chunks = self.codec.seal_chunked(&self.settings.name, &payload)?;
        Ok(self
            .settings
            .write_family(&self.settings.name, &chunks, Some(ttl), request))
    }

    /// The session of a request: opened, loaded, checked against the
    /// timeouts, refreshed when needed (once per session, shared), and the
    /// cookies to send back.
    ///
    /// A cookie that cannot be opened (tampered, old key) is cleared and
    /// treated as no session. A store failure is an error: the session is
    /// not lost, the request cannot be served.
    pub async fn resolve(&self, request: &RequestCookies<'_>) -> Result<Resolved, SessionError> {
        let name = &self.settings.name;
        let clear = || self.settings.clear_family(name, request);
        let none = |set_cookies, ended| Resolved {
            session: None,
            set_cookies,
            ended,
        };
        let payload = match self.codec.open_chunked(name, request) {
            Ok(Some(payload)) => payload,
            Ok(None) => return Ok(none(Vec::new(), None)),
            Err(err) => {
                tracing::info!(error = %err, "session cookie refused");
                return Ok(none(clear(), None));
            }
        };
        let session = match self.store.load(&payload).await {
            Ok(Some(session)) => session,
            Ok(None) => return Ok(none(clear(), None)),
            Err(StoreError::Corrupt) => return Ok(none(clear(), None)),
            Err(err) => return Err(err.into()),
        };
        let now = crate::unix_time().as_secs();
        if let Err(end) = self.policy.check(&session, now) {
            tracing::info!(user = %session.user.id, reason = %end, "session ended");
            if let Err(err) = self.store.remove(&session).await {
                tracing::warn!(error = %err, "could not remove an ended session");
            }
            return Ok(none(clear(), Some(end)));
        }
        match self
            .coordinator
            .ensure_fresh(self.store.as_ref(), &self.policy, session)
            .await
        {
            Ok(Freshness::Refreshed(session)) => {
                let set_cookies = self.write(&session, request).await?;
                Ok(Resolved {
                    session: Some(session),
                    set_cookies,
                    ended: None,
                })
            }
            Ok(Freshness::Current(mut session)) => {
                let mut set_cookies = Vec::new();
                if now.saturating_sub(session.last_seen) >= self.policy.touch_interval.as_secs() {
                    session.last_seen = now;
                    set_cookies = self.write(&session, request).await?;
                }
                Ok(Resolved {
                    session: Some(session),
                    set_cookies,
                    ended: None,
                })
            }
            Err(SessionError::Ended(end)) => Ok(none(clear(), Some(end))),
            Err(err) => Err(err),
        }
    }

    /// Ends a session (logout): removes it from the store and returns the
    /// `Set-Cookie` values that clear its cookies.
    pub async fn end(
        &self,
        session: &Session,
        request: &RequestCookies<'_>,
    ) -> Result<Vec<String>, SessionError> {
        self.store.remove(session).await?;
        tracing::info!(user = %session.user.id, "session ended by logout");
        Ok(self.settings.clear_family(&self.settings.name, request))
    }

    /// Removes every session of a user (needs a server-side store).
    pub async fn sign_out_everywhere(&self, user_id: &str) -> Result<u64, StoreError> {
        let count = self.store.remove_user(user_id).await?;
        tracing::info!(user = %user_id, sessions = count, "signed out everywhere");
        Ok(count)
    }

    /// The `Set-Cookie` value carrying a sealed login state (10 minutes,
    /// `SameSite=Lax`).
    pub fn login_state_cookie(&self, state: &LoginState) -> Result<String, SessionError> {
        let json = serde_json::to_vec(state).map_err(|_| CookieError::InvalidContent)?;
        let sealed = self.codec.seal(LOGIN_STATE_COOKIE, &json)?;
        let settings = CookieSettings {
            same_site: super::SameSite::Lax,
            ..self.settings.clone()
        };
        Ok(settings.set_cookie(LOGIN_STATE_COOKIE, &sealed, Some(LOGIN_STATE_TTL)))
    }

    /// Opens the login state cookie of a callback request (refusing one
    /// older than 10 minutes) and returns it with the `Set-Cookie` value
    /// that clears it.
    pub fn take_login_state(
        &self,
        request: &RequestCookies<'_>,
    ) -> Result<(LoginState, String), SessionError> {
        let clear = self.settings.removal(LOGIN_STATE_COOKIE);
        let sealed = request
            .get(LOGIN_STATE_COOKIE)
            .ok_or(CookieError::Malformed)?;
        let json = self.codec.open(LOGIN_STATE_COOKIE, sealed)?;
        let state: LoginState =
            serde_json::from_slice(&json).map_err(|_| CookieError::InvalidContent)?;
        let now = crate::unix_time().as_secs();
        if now >= state.created_at.saturating_add(LOGIN_STATE_TTL.as_secs()) {
            return Err(CookieError::Expired.into());
        }
        Ok((state, clear))
    }
}
