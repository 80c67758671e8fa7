//! The application's own data kept with a session: any serde value, sealed
//! with the rest of the session (in the cookie or the server-side record),
//! bounded in size, carried across refreshes and dropped at logout.

use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::{SessionEnd, SessionError};

/// Default largest size of a session's application data, as JSON text
/// (4 KiB): with the tokens, a cookie-only session then still fits its
/// cookies. See [`SessionManager::max_session_data`](super::SessionManager::max_session_data).
pub const DEFAULT_MAX_SESSION_DATA: usize = 4096;

/// How a session's user signed in. Kept in the sealed session record; a
/// record without it (written before it existed) is an OAuth session.
///
/// ```
/// use scalekit_core::session::AuthMethod;
///
/// assert_eq!(AuthMethod::default(), AuthMethod::Oauth);
/// assert_eq!(AuthMethod::Passwordless.as_str(), "passwordless");
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthMethod {
    /// The hosted login (authorization code): the session holds the
    /// platform's tokens and is refreshed with them.
    #[default]
    Oauth,
    /// Headless passwordless email (a code or a magic link): the session
    /// holds no platform token, is never refreshed and ends at its absolute
    /// or idle timeout.
    Passwordless,
}

impl AuthMethod {
    /// `"oauth"` or `"passwordless"`.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::Oauth => "oauth",
            AuthMethod::Passwordless => "passwordless",
        }
    }

    /// How the user of a completed login (as the after-login hook sees
    /// it) signed in: a passwordless sign-in carries no token
    /// (`access_token` and `id_token` are empty; `user.id` and
    /// `user.email` are the verified address, lowercase).
    ///
    /// ```
    /// # fn hook(auth: &scalekit_core::oauth::AuthenticationResponse) {
    /// use scalekit_core::session::AuthMethod;
    ///
    /// if AuthMethod::of_login(auth) == AuthMethod::Passwordless {
    ///     println!("{:?} signed in by email", auth.user.email);
    /// }
    /// # }
    /// ```
    pub fn of_login(auth: &crate::oauth::AuthenticationResponse) -> Self {
        if auth.access_token.is_empty() && auth.id_token.is_empty() {
            AuthMethod::Passwordless
        } else {
            AuthMethod::Oauth
        }
    }

    /// Whether this is [`AuthMethod::Oauth`] (the records of OAuth
    /// sessions leave the field out, as they did before it existed).
    pub fn is_oauth(&self) -> bool {
        *self == AuthMethod::Oauth
    }
}

/// The application data of a session, as the JSON text it is sealed as.
/// Build it with [`SessionData::encode`], read it with
/// [`SessionData::decode`]. Its `Debug` shows only its size.
///
/// ```
/// use scalekit_core::session::SessionData;
///
/// #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
/// struct Preferences { theme: String }
///
/// let data = SessionData::encode(&Preferences { theme: "dark".into() })?;
/// assert_eq!(data.as_json(), r#"{"theme":"dark"}"#);
/// assert_eq!(data.decode::<Preferences>()?, Preferences { theme: "dark".into() });
/// # Ok::<(), scalekit_core::session::SessionDataError>(())
/// ```
#[derive(Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SessionData(Box<RawValue>);

impl SessionData {
    /// `value` as session data.
    pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Self, SessionDataError> {
        serde_json::value::to_raw_value(value)
            .map(SessionData)
            .map_err(|_| SessionDataError::Encode)
    }

    /// The data as a `T`: [`SessionDataError::Decode`] when it has another
    /// shape (data written by an older version of the application, say).
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, SessionDataError> {
        serde_json::from_str(self.0.get()).map_err(|_| SessionDataError::Decode)
    }

    /// The JSON text.
    pub fn as_json(&self) -> &str {
        self.0.get()
    }

    /// Its size in bytes, as JSON text.
    pub fn len(&self) -> usize {
        self.0.get().len()
    }

    /// Whether the JSON text is empty (never, for encoded data).
    pub fn is_empty(&self) -> bool {
        self.0.get().is_empty()
    }

    /// `Err(TooLarge)` when larger than `max` bytes.
    pub fn check_size(&self, max: usize) -> Result<(), SessionDataError> {
        if self.len() > max {
            return Err(SessionDataError::TooLarge {
                size: self.len(),
                max,
            });
        }
        Ok(())
    }
}

impl PartialEq for SessionData {
    fn eq(&self, other: &Self) -> bool {
        self.0.get() == other.0.get()
    }
}

impl fmt::Debug for SessionData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionData(<{} bytes>)", self.len())
    }
}

/// Why session data could not be read or written. The messages never
/// contain the data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SessionDataError {
    /// The value could not be serialized as JSON (a map with non-string
    /// keys, a `Serialize` implementation that failed).
    #[error("the session data could not be serialized")]
    Encode,
    /// The stored data is not a value of the requested type.
    #[error("the session data does not have the requested shape")]
    Decode,
    /// The data is larger than the configured maximum.
    #[error("the session data is too large ({size} bytes, at most {max})")]
    TooLarge {
        /// Its size, as JSON text.
        size: usize,
        /// The maximum ([`SessionManager::max_session_data`](super::SessionManager::max_session_data)).
        max: usize,
    },
    /// The caller has no session (a bearer-token caller, or none).
    #[error("the caller has no session to keep data in")]
    NoSession,
    /// The session could not be written (store unavailable, removed
    /// meanwhile, too large for the cookies).
    #[error(transparent)]
    Session(#[from] SessionError),
}

impl SessionDataError {
    /// The HTTP status to answer with: `413` too large, `401` without a
    /// session or for a session ended meanwhile, `503` while the session
    /// store is unavailable or the session is being refreshed elsewhere
    /// (retry), `500` otherwise.
    ///
    /// ```
    /// use scalekit_core::session::SessionDataError;
    ///
    /// assert_eq!(SessionDataError::TooLarge { size: 5000, max: 4096 }.status(), 413);
    /// assert_eq!(SessionDataError::NoSession.status(), 401);
    /// ```
    pub fn status(&self) -> u16 {
        match self {
            SessionDataError::TooLarge { .. } => 413,
            SessionDataError::NoSession | SessionDataError::Session(SessionError::Ended(_)) => 401,
            SessionDataError::Session(
                SessionError::Store(super::StoreError::Unavailable)
                | SessionError::RefreshUnavailable,
            ) => 503,
            SessionDataError::Session(SessionError::DataTooLarge { .. }) => 413,
            SessionDataError::Session(SessionError::Cookie(super::CookieError::TooLarge {
                ..
            })) => 413,
            _ => 500,
        }
    }

    /// Whether the session has ended meanwhile (logout elsewhere): the
    /// caller should sign in again.
    pub fn session_ended(&self) -> bool {
        matches!(self, SessionDataError::Session(SessionError::Ended(_)))
    }
}

impl From<SessionEnd> for SessionDataError {
    fn from(end: SessionEnd) -> Self {
        SessionDataError::Session(SessionError::Ended(end))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_round_trips_inside_a_session_record_and_debug_hides_it() {
        let data = SessionData::encode(&serde_json::json!({"cart": ["secret-item"]})).unwrap();
        let text = serde_json::to_string(&serde_json::json!({"data": data})).unwrap();
        assert_eq!(text, r#"{"data":{"cart":["secret-item"]}}"#);
        #[derive(Deserialize)]
        struct Holder {
            data: SessionData,
        }
        let back: Holder = serde_json::from_str(&text).unwrap();
        assert_eq!(back.data, data);
        assert!(!format!("{data:?}").contains("secret-item"));
        assert_eq!(
            back.data.decode::<u32>(),
            Err(SessionDataError::Decode),
            "another shape is a typed error"
        );
    }

    #[test]
    fn the_size_bound_is_measured_on_the_json_text() {
        let data = SessionData::encode("x".repeat(100).as_str()).unwrap();
        assert_eq!(data.len(), 102);
        assert_eq!(data.check_size(102), Ok(()));
        assert_eq!(
            data.check_size(101),
            Err(SessionDataError::TooLarge {
                size: 102,
                max: 101
            })
        );
    }

    #[test]
    fn values_json_cannot_represent_are_an_encode_error() {
        let mut map = std::collections::HashMap::new();
        map.insert((1, 2), "tuple keys");
        assert_eq!(
            SessionData::encode(&map).err(),
            Some(SessionDataError::Encode)
        );
    }
}
