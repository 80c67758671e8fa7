//! [`SessionManager`]: sessions in and out of cookies, timeouts enforced,
//! refreshes coordinated. Its opened-cookie cache is in `opened.rs`, the
//! login state cookie in `login.rs`.

use std::hash::BuildHasher as _;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use super::codec::CookieCodec;
use super::cookies::{CookieSettings, RequestCookies, cookie_names};
use super::opened::{OPENED_FRONT, OpenedCookie, OpenedCookies, Replacement};
use super::refresh::{Freshness, RefreshCoordinator};
use super::store::{CookieStore, Replaced, SealedStore, SessionMode, SessionStore, StoreError};
use super::{
    DEFAULT_MAX_SESSION_DATA, Session, SessionData, SessionDataError, SessionEnd, SessionError,
    SessionPolicy,
};
use crate::client::Scalekit;
use crate::oauth::{AuthenticationResponse, TokenError};

/// What [`SessionManager::resolve`] found. Its `Debug` shows the names of
/// the cookies it sets, not their (sealed) values.
#[derive(Clone, PartialEq)]
pub struct Resolved {
    /// The live session, refreshed if it needed to be (shared: a request
    /// whose cookie opened recently gets the session opened then).
    pub session: Option<Arc<Session>>,
    /// `Set-Cookie` values to send with the response (a refreshed or
    /// touched session, or cookies to clear).
    pub set_cookies: Vec<String>,
    /// Why the session the request carried has ended, if it has.
    pub ended: Option<SessionEnd>,
}

impl std::fmt::Debug for Resolved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resolved")
            .field("session", &self.session)
            .field("set_cookies", &cookie_names(&self.set_cookies))
            .field("ended", &self.ended)
            .finish()
    }
}

/// Sessions in and out of cookies, with a store, a policy and a refresh
/// coordinator.
///
/// With a server-side store the session is sealed with the same codec as
/// the cookies before it reaches the store (bound to its id), and the
/// cookie carries only the sealed id. Writes of an existing session are
/// conditional on the version that was read: a session removed meanwhile
/// (logout, sign-out everywhere) is never written back.
///
/// ```no_run
/// # async fn demo(scalekit: scalekit_core::Scalekit) -> Result<(), Box<dyn std::error::Error>> {
/// use std::sync::Arc;
/// use scalekit_core::session::{CookieCodec, CookieSettings, MemoryStore, RequestCookies, SessionManager};
///
/// let codec = CookieCodec::new([std::env::var("SESSION_SECRET")?])?;
/// let sessions = SessionManager::new(scalekit, codec, CookieSettings::for_base_url("https://app.example.com"))
///     // or RedisStore::connect(…) with the `redis` feature
///     .store(Arc::new(MemoryStore::new(100_000, std::time::Duration::from_secs(7 * 24 * 3600))));
/// let resolved = sessions.resolve(&RequestCookies::parse(["__Host-sk_session=…"])).await?;
/// if let Some(session) = resolved.session {
///     println!("signed in as {:?}", session.user.email);
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct SessionManager {
    scalekit: Scalekit,
    pub(super) settings: CookieSettings,
    policy: SessionPolicy,
    pub(super) records: SealedStore,
    coordinator: RefreshCoordinator,
    opened: OpenedCookies,
    max_data: usize,
}

/// Writes of session data tried before a conflict is reported (each
/// conflict means another request wrote the same session meanwhile).
const DATA_WRITE_ATTEMPTS: usize = 16;

impl std::fmt::Debug for SessionManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionManager")
            .field("settings", &self.settings)
            .field("policy", &self.policy)
            .field("store", &self.records.store)
            .finish_non_exhaustive()
    }
}

/// What the cookie of a request pointed to.
enum Opened {
    /// The request carries no session cookie.
    NoCookie,
    /// The cookie opened but its session no longer exists.
    Gone,
    /// The session (and, for a cookie-only session, its opened-cookie
    /// entry).
    Found(Arc<Session>, Option<Arc<OpenedCookie>>),
}

/// What [`SessionManager::settle`] made of an opened session.
enum Settled {
    /// Decided.
    Done(Result<Resolved, SessionError>),
    /// Past a timeout: to be ended.
    Ended(Arc<Session>, SessionEnd),
    /// Its access token is due for a refresh (at this time).
    Refresh(Arc<Session>, Option<Arc<OpenedCookie>>, u64),
    /// Current, not seen within the touch interval: `last_seen` to write.
    Touch(Arc<Session>, Option<Arc<OpenedCookie>>, u64),
}

/// Remembers, in the opened-cookie entry of a cookie-only session, what its
/// cookie was answered with when the session was written.
fn remember(opened: Option<&OpenedCookie>, resolved: Resolved) -> Resolved {
    if let (Some(opened), Some(session)) = (opened, &resolved.session)
        && !resolved.set_cookies.is_empty()
    {
        let _ = opened.replaced_by.set(Replacement {
            session: session.clone(),
            set_cookies: resolved.set_cookies.clone(),
        });
    }
    resolved
}

impl SessionManager {
    /// Cookie-only sessions sealed by `codec`.
    /// Settings that fail [`CookieSettings::validate`] are logged as an
    /// error; invalid attributes are then left out of every cookie.
    pub fn new(scalekit: Scalekit, codec: CookieCodec, settings: CookieSettings) -> Self {
        if let Err(err) = settings.validate() {
            tracing::error!(error = %err, "invalid cookie settings");
        }
        SessionManager {
            coordinator: RefreshCoordinator::new(scalekit.clone()),
            scalekit,
            settings,
            policy: SessionPolicy::default(),
            opened: OpenedCookies::new(SessionPolicy::default().touch_interval),
            max_data: DEFAULT_MAX_SESSION_DATA,
            records: SealedStore {
                store: Arc::new(CookieStore),
                codec: Arc::new(codec),
            },
        }
    }

    /// Uses another store (memory, Redis). Sessions reach it sealed by this
    /// manager's codec.
    pub fn store(mut self, store: Arc<dyn SessionStore>) -> Self {
        self.records.store = store;
        self
    }

    /// Uses another policy.
    pub fn policy(mut self, policy: SessionPolicy) -> Self {
        self.policy = policy;
        self.opened = OpenedCookies::new(policy.touch_interval);
        self
    }

    /// Sets the largest size of a session's application data, as JSON text
    /// (default [`DEFAULT_MAX_SESSION_DATA`], 4 KiB). Larger data is
    /// refused with [`SessionDataError::TooLarge`] before anything is
    /// written. Cookie-only sessions are also bounded by their cookies
    /// (see [`CookieError::TooLarge`](super::CookieError::TooLarge)): keep
    /// larger data in a server-side store.
    pub fn max_session_data(mut self, bytes: usize) -> Self {
        self.max_data = bytes;
        self
    }

    /// The largest size of a session's application data.
    pub fn session_data_limit(&self) -> usize {
        self.max_data
    }

    /// `value` as session data within the size limit.
    ///
    /// ```
    /// # fn demo(sessions: scalekit_core::session::SessionManager) {
    /// let data = sessions.encode_data(&serde_json::json!({"theme": "dark"}));
    /// assert!(data.is_ok());
    /// let huge = sessions.encode_data(&"x".repeat(1 << 20));
    /// assert!(huge.is_err());
    /// # }
    /// ```
    pub fn encode_data<T: Serialize + ?Sized>(
        &self,
        value: &T,
    ) -> Result<SessionData, SessionDataError> {
        let data = SessionData::encode(value)?;
        data.check_size(self.max_data)?;
        Ok(data)
    }

    /// Where sessions live: in the cookie, or in a server-side store (the
    /// cookie holds only the session id).
    pub fn mode(&self) -> SessionMode {
        self.records.mode()
    }

    /// The cookie settings.
    pub fn settings(&self) -> &CookieSettings {
        &self.settings
    }

    /// The policy.
    pub fn session_policy(&self) -> &SessionPolicy {
        &self.policy
    }

    /// The Scalekit client.
    pub fn scalekit(&self) -> &Scalekit {
        &self.scalekit
    }

    /// The session cookie's name on the wire (`__Host-sk_session` on
    /// https, `sk_session` on plain-http localhost).
    pub fn session_cookie_name(&self) -> String {
        self.settings.session_cookie_name()
    }

    /// Whether one of `set_cookies` (`Set-Cookie` values a handler's
    /// response already carries: a logout's removals, a new session) sets
    /// or removes the session cookie or one of its chunks. An auth layer
    /// then leaves its own session cookies out: a session refreshed on the
    /// way in must not undo a logout.
    pub(crate) fn sets_session_cookie<'a, I>(&self, set_cookies: I) -> bool
    where
        I: IntoIterator<Item = &'a str>,
    {
        let base = self.settings.session_cookie_name();
        set_cookies.into_iter().any(|value| {
            let name = value.split_once('=').map_or(value, |(n, _)| n).trim();
            name == base
                || name.strip_prefix(base.as_str()).is_some_and(|rest| {
                    rest.strip_prefix('.')
                        .is_some_and(|i| !i.is_empty() && i.bytes().all(|b| b.is_ascii_digit()))
                })
        })
    }

    /// Starts a session from a completed login (always a new session,
    /// written unconditionally); returns it and the `Set-Cookie` values that
    /// carry it.
    pub async fn start(
        &self,
        auth: &AuthenticationResponse,
        request: &RequestCookies<'_>,
    ) -> Result<(Session, Vec<String>), SessionError> {
        self.start_with(auth, request, None).await
    }

    /// [`SessionManager::start`] with the application's data already in
    /// the session (see [`SessionManager::encode_data`]).
    pub async fn start_with(
        &self,
        auth: &AuthenticationResponse,
        request: &RequestCookies<'_>,
        data: Option<SessionData>,
    ) -> Result<(Session, Vec<String>), SessionError> {
        self.check_new_data(data.as_ref())?;
        let claims = self
            .scalekit
            .validator()
            .verify_issued_access(&auth.access_token)
            .await
            .map_err(|e| SessionError::Login(TokenError::IdToken(e)))?;
        let now = crate::util::unix_time().as_secs();
        let session = Session {
            id: Session::new_id().map_err(|_| SessionError::Random)?,
            user: auth.user.clone(),
            access_token: auth.access_token.clone(),
            refresh_token: auth.refresh_token.clone(),
            id_token: Some(auth.id_token.clone()),
            expires_at: u64::try_from(claims.exp).unwrap_or(0),
            data,
            auth_method: super::AuthMethod::Oauth,
            created_at: now,
            last_seen: now,
            version: 0,
        };
        self.begin(session, now, request).await
    }

    /// Starts a session for `user`, who signed in by passwordless email
    /// (always a new session, with a new id): it holds no platform token,
    /// is never refreshed, and ends after `lifetime`, or at the policy's
    /// absolute or idle timeout, whichever comes first. `data` is checked
    /// as [`SessionManager::start_with`] checks it.
    pub async fn start_passwordless(
        &self,
        user: &crate::oauth::User,
        request: &RequestCookies<'_>,
        data: Option<SessionData>,
        lifetime: Duration,
    ) -> Result<(Session, Vec<String>), SessionError> {
        self.check_new_data(data.as_ref())?;
        let now = crate::util::unix_time().as_secs();
        let session = Session {
            id: Session::new_id().map_err(|_| SessionError::Random)?,
            user: user.clone(),
            access_token: String::new(),
            refresh_token: None,
            id_token: None,
            // No token expires: the session's own lifetime ends it (see
            // `SessionPolicy::check`).
            expires_at: now.saturating_add(lifetime.as_secs()),
            data,
            auth_method: super::AuthMethod::Passwordless,
            created_at: now,
            last_seen: now,
            version: 0,
        };
        self.begin(session, now, request).await
    }

    /// Refuses data larger than the limit, before a session starts.
    fn check_new_data(&self, data: Option<&SessionData>) -> Result<(), SessionError> {
        match data {
            Some(data) if data.check_size(self.max_data).is_err() => {
                Err(SessionError::DataTooLarge {
                    size: data.len(),
                    max: self.max_data,
                })
            }
            _ => Ok(()),
        }
    }

    /// Writes a new session (unconditionally) and returns it with the
    /// `Set-Cookie` values that carry it.
    async fn begin(
        &self,
        mut session: Session,
        now: u64,
        request: &RequestCookies<'_>,
    ) -> Result<(Session, Vec<String>), SessionError> {
        let ttl = self.policy.remaining(&session, now);
        if self.records.mode() == SessionMode::ServerSide {
            session = self.records.create(&session, ttl).await?;
        }
        let cookies = self.cookies(&session, ttl, request)?;
        tracing::info!(user = ?session.user.id, "session started");
        Ok((session, cookies))
    }

    /// The `Set-Cookie` values that carry `session` for `ttl`: the sealed
    /// session id (server-side stores) or the whole sealed session, and the
    /// removal of chunks left from a larger value.
    fn cookies(
        &self,
        session: &Session,
        ttl: Duration,
        request: &RequestCookies<'_>,
    ) -> Result<Vec<String>, SessionError> {
        let name = self.settings.session_cookie_name();
        let payload = if self.records.mode() == SessionMode::ServerSide {
            session.id.clone().into_bytes()
        } else {
            serde_json::to_vec(session).map_err(|_| StoreError::Corrupt)?
        };
        let chunks = self.records.codec.seal_chunked(&name, &payload)?;
        Ok(self
            .settings
            .write_family(&name, &chunks, Some(ttl), request))
    }

    /// Writes an existing session back (after changing it) and returns the
    /// `Set-Cookie` values that carry it.
    ///
    /// With a server-side store the write is conditional: it succeeds only
    /// if the store still holds the version `session` was read at, which it
    /// then advances (`session.version` is updated). A session removed
    /// meanwhile fails with [`SessionEnd::Removed`] and is not written back;
    /// one written by another request meanwhile fails with
    /// [`StoreError::Conflict`] (read it again).
    pub async fn write(
        &self,
        session: &mut Session,
        request: &RequestCookies<'_>,
    ) -> Result<Vec<String>, SessionError> {
        let now = crate::util::unix_time().as_secs();
        let ttl = self.policy.remaining(session, now);
        if self.records.mode() == SessionMode::ServerSide {
            match self.records.replace(session, ttl).await? {
                Replaced::Written(saved) => *session = saved,
                Replaced::Changed(_) => return Err(StoreError::Conflict.into()),
                Replaced::Removed => return Err(SessionEnd::Removed.into()),
            }
        }
        self.cookies(session, ttl, request)
    }

    /// Replaces the application data of `session` (`None` removes it) and
    /// writes the session; returns it as written and the `Set-Cookie`
    /// values that carry it. With a server-side store, a session changed
    /// meanwhile by another request (a refresh, a touch, another write) is
    /// read again and the data applied to it: the last data written wins,
    /// the newest tokens are kept (to change the data by what it holds,
    /// use [`SessionManager::update_data`]). A session removed meanwhile (logout,
    /// sign-out everywhere) is not written back
    /// ([`SessionDataError::session_ended`]).
    pub async fn set_data(
        &self,
        session: &Session,
        data: Option<SessionData>,
        request: &RequestCookies<'_>,
    ) -> Result<(Session, Vec<String>), SessionDataError> {
        self.update_data(session, |_| Ok(data.clone()), request)
            .await
    }

    /// Changes the application data of `session` by what it holds:
    /// `change` gets the current data and returns the new data (`None`
    /// removes it). With a server-side store, a session changed meanwhile
    /// by another request is read again and `change` runs again on its
    /// data, so no concurrent update is lost; otherwise as
    /// [`SessionManager::set_data`].
    pub async fn update_data<F>(
        &self,
        session: &Session,
        mut change: F,
        request: &RequestCookies<'_>,
    ) -> Result<(Session, Vec<String>), SessionDataError>
    where
        F: FnMut(Option<&SessionData>) -> Result<Option<SessionData>, SessionDataError>,
    {
        let mut base = session.clone();
        for _ in 0..DATA_WRITE_ATTEMPTS {
            let data = change(base.data.as_ref())?;
            if let Some(data) = &data {
                data.check_size(self.max_data)?;
            }
            let mut next = Session { data, ..base };
            match self.write(&mut next, request).await {
                Ok(cookies) => return Ok((next, cookies)),
                Err(SessionError::Store(StoreError::Conflict)) => {
                    let Some(stored) = self.records.load(&next.id).await? else {
                        return Err(SessionEnd::Removed.into());
                    };
                    base = stored;
                }
                Err(err) => return Err(err.into()),
            }
        }
        Err(SessionError::Store(StoreError::Conflict).into())
    }

    /// Opens the session cookie of a request and reads its session.
    async fn open(&self, request: &RequestCookies<'_>) -> Result<Opened, SessionError> {
        let name = self.settings.session_cookie_name();
        let codec = &self.records.codec;
        let Some(sealed) = codec.sealed_value(&name, request) else {
            return Ok(Opened::NoCookie);
        };
        if self.records.mode() == SessionMode::ServerSide {
            // The cookie holds the sealed id; the record must be read (a
            // removed session must not come back).
            let payload = codec.open(&name, &sealed)?;
            let id = std::str::from_utf8(&payload).map_err(|_| StoreError::Corrupt)?;
            let session = Box::pin(self.records.load(id)).await?;
            return Ok(session.map_or(Opened::Gone, |s| Opened::Found(Arc::new(s), None)));
        }
        self.open_sealed(&name, &sealed)
    }

    /// [`SessionManager::open`] for a cookie-only session, which needs no
    /// waiting; `None` for a server-side session cookie (its record must be
    /// read).
    fn open_now(&self, request: &RequestCookies<'_>) -> Option<Result<Opened, SessionError>> {
        let name = self.settings.session_cookie_name();
        let Some(sealed) = self.records.codec.sealed_value(&name, request) else {
            return Some(Ok(Opened::NoCookie));
        };
        (self.records.mode() == SessionMode::CookieOnly).then(|| self.open_sealed(&name, &sealed))
    }

    /// Opens the sealed value of a cookie-only session (or finds it opened).
    fn open_sealed(&self, name: &str, sealed: &str) -> Result<Opened, SessionError> {
        let codec = &self.records.codec;
        // The end of a sealed value is its AES-GCM tag: as good a key as the
        // whole, without hashing kilobytes (a hit compares the whole value).
        let hash = self
            .opened
            .hasher
            .hash_one(crate::validate::cache_key(sealed));
        let now = i64::try_from(crate::util::unix_time().as_secs()).unwrap_or(i64::MAX);
        if let Some((hit, _)) = crate::front::lookup(
            &OPENED_FRONT,
            &self.opened.entries,
            (self.opened.id, hash, now),
            |e| *e.sealed == *sealed,
            |e| e.until,
        ) {
            return Ok(Opened::Found(hit.session.clone(), Some(hit)));
        }
        let payload = codec.open(name, sealed)?;
        let session: Arc<Session> = serde_json::from_slice::<Session>(&payload)
            .map(Arc::new)
            .map_err(|_| StoreError::Corrupt)?;
        let entry = Arc::new(OpenedCookie {
            sealed: sealed.into(),
            session: session.clone(),
            replaced_by: std::sync::OnceLock::new(),
            until: now.saturating_add(self.opened.ttl),
        });
        self.opened.entries.insert(hash, entry.clone());
        Ok(Opened::Found(session, Some(entry)))
    }

    /// The session a request's cookie refers to, as stored: not refreshed,
    /// timeouts not enforced (for logout and the like). `None` when there is
    /// no cookie, it does not open, or its session no longer exists.
    pub async fn load(
        &self,
        request: &RequestCookies<'_>,
    ) -> Result<Option<Session>, SessionError> {
        match self.open(request).await {
            Ok(Opened::Found(session, _)) => Ok(Some(Arc::unwrap_or_clone(session))),
            Ok(_)
            | Err(SessionError::Cookie(_))
            | Err(SessionError::Store(StoreError::Corrupt)) => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// The session of a request: opened, loaded, checked against the
    /// timeouts, refreshed when needed (once per session, shared), and the
    /// cookies to send back.
    ///
    /// A cookie that cannot be opened (tampered, old key) is cleared and
    /// treated as no session; so is one whose session was removed. A store
    /// failure is an error: the session is not lost, the request cannot be
    /// served. So is a refresh that cannot be made right now
    /// ([`SessionError::RefreshUnavailable`]): the session and its cookie
    /// are kept; answer `503` with `Retry-After`.
    pub async fn resolve(&self, request: &RequestCookies<'_>) -> Result<Resolved, SessionError> {
        let opened = self.open(request).await;
        match self.settle(opened, request) {
            Settled::Done(resolved) => resolved,
            Settled::Ended(session, end) => {
                let _ended = Box::pin(self.records.end(&session, end.clone())).await;
                Ok(self.ended(request, Some(end)))
            }
            Settled::Refresh(session, opened, now) => {
                // Boxed, as the touch below: the future of every request
                // stays small.
                let freshness = Box::pin(self.coordinator.ensure_fresh(
                    &self.records,
                    &self.policy,
                    session,
                ))
                .await;
                match freshness {
                    Ok(Freshness::Refreshed(session)) => {
                        let ttl = self.policy.remaining(&session, now);
                        let set_cookies = self.cookies(&session, ttl, request)?;
                        Ok(remember(
                            opened.as_deref(),
                            Resolved {
                                session: Some(Arc::new(session)),
                                set_cookies,
                                ended: None,
                            },
                        ))
                    }
                    Ok(Freshness::Current(session)) => match self.seen_lately(session, now) {
                        Ok(resolved) => Ok(resolved),
                        Err(session) => {
                            Box::pin(self.touch(Arc::unwrap_or_clone(session), now, request))
                                .await
                                .map(|resolved| remember(opened.as_deref(), resolved))
                        }
                    },
                    Err(SessionError::Ended(end)) => Ok(self.ended(request, Some(end))),
                    Err(err) => Err(err),
                }
            }
            Settled::Touch(session, opened, now) => {
                Box::pin(self.touch(Arc::unwrap_or_clone(session), now, request))
                    .await
                    .map(|resolved| remember(opened.as_deref(), resolved))
            }
        }
    }

    /// [`SessionManager::resolve`] when it needs no waiting: no session
    /// cookie, or a cookie-only session that is current, was seen within
    /// the touch interval and is within its timeouts (the usual request),
    /// or a cookie that does not open. `None` otherwise (a server-side
    /// session, a refresh, a touch, a session ending): then call
    /// [`SessionManager::resolve`].
    pub fn resolve_now(
        &self,
        request: &RequestCookies<'_>,
    ) -> Option<Result<Resolved, SessionError>> {
        match self.settle(self.open_now(request)?, request) {
            Settled::Done(resolved) => Some(resolved),
            _ => None,
        }
    }

    /// No session, and the cookies to send (the session cookie's family
    /// cleared when the request carried one).
    fn ended(&self, request: &RequestCookies<'_>, end: Option<SessionEnd>) -> Resolved {
        Resolved {
            session: None,
            set_cookies: self
                .settings
                .clear_family(&self.settings.session_cookie_name(), request),
            ended: end,
        }
    }

    /// What can be decided about an opened session without waiting.
    fn settle(
        &self,
        opened: Result<Opened, SessionError>,
        request: &RequestCookies<'_>,
    ) -> Settled {
        let (session, opened) = match opened {
            Ok(Opened::Found(session, opened)) => (session, opened),
            Ok(Opened::NoCookie) => {
                return Settled::Done(Ok(Resolved {
                    session: None,
                    set_cookies: Vec::new(),
                    ended: None,
                }));
            }
            Ok(Opened::Gone) => return Settled::Done(Ok(self.ended(request, None))),
            Err(SessionError::Cookie(err)) => {
                tracing::info!(error = %err, "session cookie refused");
                return Settled::Done(Ok(self.ended(request, None)));
            }
            Err(SessionError::Store(StoreError::Corrupt)) => {
                return Settled::Done(Ok(self.ended(request, None)));
            }
            Err(err) => return Settled::Done(Err(err)),
        };
        let now = crate::util::unix_time().as_secs();
        if let Err(end) = self.policy.check(&session, now) {
            return Settled::Ended(session, end);
        }
        // A cookie whose session was written since it opened (its client
        // ignored the `Set-Cookie`, or its requests overlapped): the same
        // answer again, not a new seal per request.
        if let Some(replacement) = opened.as_ref().and_then(|o| o.replaced_by.get())
            && !replacement
                .session
                .needs_refresh(now, self.policy.refresh_skew)
            && self.policy.check(&replacement.session, now).is_ok()
        {
            return Settled::Done(Ok(Resolved {
                session: Some(replacement.session.clone()),
                set_cookies: replacement.set_cookies.clone(),
                ended: None,
            }));
        }
        if session.needs_refresh(now, self.policy.refresh_skew) {
            return Settled::Refresh(session, opened, now);
        }
        match self.seen_lately(session, now) {
            Ok(resolved) => Settled::Done(Ok(resolved)),
            Err(session) => Settled::Touch(session, opened, now),
        }
    }

    /// A current session seen within the touch interval, as it is; else
    /// the session back, to be touched.
    fn seen_lately(&self, session: Arc<Session>, now: u64) -> Result<Resolved, Arc<Session>> {
        if now.saturating_sub(session.last_seen) < self.policy.touch_interval.as_secs() {
            return Ok(Resolved {
                session: Some(session),
                set_cookies: Vec::new(),
                ended: None,
            });
        }
        Err(session)
    }

    /// Writes `last_seen`: conditionally with a server-side store. Another
    /// request's write meanwhile wins (its session is used); a removal
    /// meanwhile ends this request's session.
    async fn touch(
        &self,
        mut session: Session,
        now: u64,
        request: &RequestCookies<'_>,
    ) -> Result<Resolved, SessionError> {
        session.last_seen = now;
        let ttl = self.policy.remaining(&session, now);
        if self.records.mode() == SessionMode::ServerSide {
            match self.records.replace(&session, ttl).await? {
                Replaced::Written(saved) => session = saved,
                Replaced::Changed(stored) => {
                    return Ok(Resolved {
                        session: Some(Arc::new(stored)),
                        set_cookies: Vec::new(),
                        ended: None,
                    });
                }
                Replaced::Removed => {
                    tracing::info!(user = ?session.user.id, "session removed while in use");
                    return Ok(Resolved {
                        session: None,
                        set_cookies: self
                            .settings
                            .clear_family(&self.settings.session_cookie_name(), request),
                        ended: Some(SessionEnd::Removed),
                    });
                }
            }
        }
        let set_cookies = self.cookies(&session, ttl, request)?;
        Ok(Resolved {
            session: Some(Arc::new(session)),
            set_cookies,
            ended: None,
        })
    }

    /// Ends a session (logout): removes it from the store and returns the
    /// `Set-Cookie` values that clear its cookies.
    pub async fn end(
        &self,
        session: &Session,
        request: &RequestCookies<'_>,
    ) -> Result<Vec<String>, SessionError> {
        self.records.remove(session).await?;
        tracing::info!(user = ?session.user.id, "session ended by logout");
        Ok(self.clear_cookies(request))
    }

    /// The `Set-Cookie` values that delete the session cookie (and its
    /// chunks) of a request.
    pub fn clear_cookies(&self, request: &RequestCookies<'_>) -> Vec<String> {
        self.settings
            .clear_family(&self.settings.session_cookie_name(), request)
    }

    /// Removes every session of a user (needs a server-side store).
    pub async fn sign_out_everywhere(&self, user_id: &str) -> Result<u64, StoreError> {
        let count = self.records.store.remove_user(user_id).await?;
        tracing::info!(user = ?user_id, sessions = count, "signed out everywhere");
        Ok(count)
    }
}
