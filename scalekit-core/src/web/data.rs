//! The application's data in the session, from handlers: read it from the
//! caller, write it through [`WebAuth::write_session_data`] or the typed
//! [`SessionValue`]; the auth layer sends the rewritten cookies with the
//! response.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Authenticated, WebAuth};
use crate::session::{RequestCookies, Session, SessionData, SessionDataError};

/// Session writes made while a request was handled: the session as last
/// written and the `Set-Cookie` values that carry it, which the auth layer
/// sends instead of its own. Shared by every clone of the caller; never
/// locked for the requests that write nothing.
#[derive(Default)]
pub(super) struct SessionWrites {
    written: AtomicBool,
    latest: Mutex<Option<Written>>,
}

struct Written {
    session: Arc<Session>,
    set_cookies: Option<Vec<String>>,
}

impl SessionWrites {
    pub(super) fn new() -> Arc<Self> {
        Arc::new(SessionWrites::default())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Written>> {
        self.latest.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Authenticated {
    /// Whether the caller has a session (a signed-in browser), not only a
    /// bearer token: only then can it keep application data.
    pub fn has_session(&self) -> bool {
        self.session.is_some()
    }

    /// The caller's session as last written during this request.
    fn current_session(&self) -> Option<Arc<Session>> {
        if let Some(writes) = &self.writes
            && writes.written.load(Ordering::Acquire)
            && let Some(written) = writes.lock().as_ref()
        {
            return Some(written.session.clone());
        }
        self.session.clone()
    }

    /// The application data of the caller's session as a `T` (as last
    /// written during this request): `Ok(None)` without data or without a
    /// session, [`SessionDataError::Decode`] when it has another shape.
    ///
    /// ```
    /// # fn show(user: &scalekit_core::web::Authenticated) {
    /// #[derive(serde::Deserialize)]
    /// struct Preferences { theme: String }
    /// if let Ok(Some(prefs)) = user.session_data::<Preferences>() {
    ///     println!("theme: {}", prefs.theme);
    /// }
    /// # }
    /// ```
    pub fn session_data<T: DeserializeOwned>(&self) -> Result<Option<T>, SessionDataError> {
        match self.current_session() {
            Some(session) => session.data_as(),
            None => Ok(None),
        }
    }

    /// The `Set-Cookie` values of the session writes made while handling
    /// the request (`None` when nothing was written). For auth layers: they
    /// replace the layer's own session cookies in the response.
    pub(crate) fn take_session_cookies(&self) -> Option<Vec<String>> {
        let writes = self.writes.as_ref()?;
        if !writes.written.load(Ordering::Acquire) {
            return None;
        }
        writes
            .lock()
            .as_mut()
            .and_then(|written| written.set_cookies.take())
    }

    fn record_write(&self, writes: &SessionWrites, session: Session, set_cookies: Vec<String>) {
        *writes.lock() = Some(Written {
            session: Arc::new(session),
            set_cookies: Some(set_cookies),
        });
        writes.written.store(true, Ordering::Release);
    }
}

impl WebAuth {
    /// Replaces the application data of `caller`'s session (`None` removes
    /// it): sealed with the session, written to its store, and carried by
    /// the cookies the auth layer sends with the response. `request` is
    /// the request's cookies (for the removal of cookie chunks it no longer
    /// needs). The last write wins; to change the data by what it holds,
    /// use [`WebAuth::update_session_data`].
    ///
    /// Errors: [`SessionDataError::NoSession`] for a bearer caller,
    /// [`SessionDataError::TooLarge`] above
    /// [`SessionManager::max_session_data`](crate::session::SessionManager::max_session_data),
    /// and the session's own failures (store unavailable, session removed
    /// meanwhile; a cookie-only session whose tokens another request has
    /// just rotated answers [`SessionError::RefreshUnavailable`](crate::session::SessionError::RefreshUnavailable),
    /// `503`: retry). Nothing is written on error.
    pub async fn write_session_data(
        &self,
        caller: &Authenticated,
        data: Option<SessionData>,
        request: &RequestCookies<'_>,
    ) -> Result<(), SessionDataError> {
        self.update_session_data(caller, |_| Ok(data.clone()), request)
            .await
    }

    /// Changes the application data of `caller`'s session by what it
    /// holds: `change` gets the current data and returns the new data. With
    /// a server-side store, a write that meets a concurrent change of the
    /// same session runs `change` again on the data as it is now, so no
    /// update is lost. Errors as [`WebAuth::write_session_data`].
    pub async fn update_session_data<F>(
        &self,
        caller: &Authenticated,
        change: F,
        request: &RequestCookies<'_>,
    ) -> Result<(), SessionDataError>
    where
        F: FnMut(Option<&SessionData>) -> Result<Option<SessionData>, SessionDataError>,
    {
        let (Some(session), Some(writes)) = (caller.current_session(), caller.writes.as_ref())
        else {
            return Err(SessionDataError::NoSession);
        };
        let (session, set_cookies) = self.sessions.update_data(&session, change, request).await?;
        caller.record_write(writes, session, set_cookies);
        Ok(())
    }
}

/// Typed application data of the caller's session (any serde type), for
/// handlers: read it with [`SessionValue::get`], replace it with
/// [`SessionValue::set`] or [`SessionValue::clear`]. The data is sealed
/// with the session (cookie or server-side record), size-checked, kept
/// across refreshes and gone at logout. The adapters' `SessionValue<T>`
/// extractors build it (refusing a caller without a session with `401`);
/// the response then carries the rewritten session cookies.
///
/// Data of another shape than `T` (written by an older version of the
/// application) reads as absent (with a warning in the log) and is
/// replaced by the next `set`.
pub struct SessionValue<T> {
    web: Arc<WebAuth>,
    caller: Arc<Authenticated>,
    cookie_headers: Vec<String>,
    value: Option<T>,
}

impl<T> std::fmt::Debug for SessionValue<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionValue")
            .field("caller", &self.caller)
            .field("present", &self.value.is_some())
            .finish_non_exhaustive()
    }
}

impl<T: Serialize + DeserializeOwned> SessionValue<T> {
    /// The data of `caller`'s session; `cookie_headers` are the request's
    /// `Cookie` header values. [`SessionDataError::NoSession`] for a caller
    /// without a session.
    pub fn new(
        web: Arc<WebAuth>,
        caller: Arc<Authenticated>,
        cookie_headers: Vec<String>,
    ) -> Result<Self, SessionDataError> {
        let session = caller
            .current_session()
            .ok_or(SessionDataError::NoSession)?;
        let value = session.data_as::<T>().unwrap_or_else(|err| {
            tracing::warn!(error = %err, user = ?session.user.id, "session data of another shape read as absent");
            None
        });
        Ok(SessionValue {
            web,
            caller,
            cookie_headers,
            value,
        })
    }

    /// The data, if the session has some.
    pub fn get(&self) -> Option<&T> {
        self.value.as_ref()
    }

    /// The authenticated caller.
    pub fn caller(&self) -> &Authenticated {
        &self.caller
    }

    /// Replaces the data and writes the session (see
    /// [`WebAuth::write_session_data`]; the last write wins: to change the
    /// data by what it holds, use [`SessionValue::update`]). On error the
    /// data is unchanged.
    pub async fn set(&mut self, value: T) -> Result<(), SessionDataError> {
        // The size is checked where the session is written.
        let data = SessionData::encode(&value)?;
        self.write(Some(data)).await?;
        self.value = Some(value);
        Ok(())
    }

    /// Changes the data by what it holds: `change` gets the current value
    /// (`None` without data, or with data of another shape) and returns
    /// the new one. With a server-side store it runs again on the value as
    /// it is now if another request changed the session meanwhile, so
    /// concurrent updates (two items added to a cart at once) are all
    /// kept.
    ///
    /// ```no_run
    /// # async fn demo(mut cart: scalekit_core::web::SessionValue<Vec<String>>) -> Result<(), scalekit_core::session::SessionDataError> {
    /// cart.update(|items| {
    ///     let mut items = items.unwrap_or_default();
    ///     items.push("book".to_owned());
    ///     items
    /// })
    /// .await?;
    /// # Ok(()) }
    /// ```
    pub async fn update<F>(&mut self, mut change: F) -> Result<(), SessionDataError>
    where
        F: FnMut(Option<T>) -> T,
    {
        let mut last = None;
        self.web
            .update_session_data(
                &self.caller,
                |current| {
                    // The size is checked where the session is written.
                    let value = change(current.and_then(|d| d.decode::<T>().ok()));
                    let data = SessionData::encode(&value)?;
                    last = Some(value);
                    Ok(Some(data))
                },
                &self.request_cookies(),
            )
            .await?;
        self.value = last;
        Ok(())
    }

    /// Removes the data from the session.
    pub async fn clear(&mut self) -> Result<(), SessionDataError> {
        self.write(None).await?;
        self.value = None;
        Ok(())
    }

    /// The data, taken out.
    pub fn into_inner(self) -> Option<T> {
        self.value
    }

    async fn write(&self, data: Option<SessionData>) -> Result<(), SessionDataError> {
        self.web
            .write_session_data(&self.caller, data, &self.request_cookies())
            .await
    }

    fn request_cookies(&self) -> RequestCookies<'_> {
        RequestCookies::parse(self.cookie_headers.iter().map(String::as_str))
    }
}
