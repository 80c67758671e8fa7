//! Caller resolution: the `Authorization` header (one, bearer, an access
//! token for an accepted audience), else the session (refreshed when needed).

use std::sync::Arc;

use serde::Deserialize;

use super::{AuthFailure, Authenticated, RequestAuth, Via, WebAuth};
use crate::claims::AccessTokenClaims;
use crate::session::{RequestCookies, SessionError};
use crate::validate::ValidationError;

/// The `Authorization` headers of a request, as the adapters found them:
/// none, one (as text, or `None` when its bytes are not text), or several.
/// Several are refused (`400 invalid_request`), whichever comes first.
///
/// ```
/// use scalekit_core::web::AuthorizationHeaders;
///
/// let one = AuthorizationHeaders::from_values([Some("Bearer abc")]);
/// assert_eq!(one.single(), Ok(Some("Bearer abc")));
/// let two = AuthorizationHeaders::from_values([Some("Bearer abc"), Some("Bearer def")]);
/// assert!(two.single().is_err());
/// assert_eq!(AuthorizationHeaders::default().single(), Ok(None));
/// ```
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct AuthorizationHeaders<'a> {
    first: Option<Option<&'a str>>,
    several: bool,
}

impl std::fmt::Debug for AuthorizationHeaders<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthorizationHeaders")
            .field("present", &self.first.is_some())
            .field("several", &self.several)
            .finish()
    }
}

impl<'a> AuthorizationHeaders<'a> {
    /// From every `Authorization` header value of a request, in order
    /// (`None` for a value that is not valid text).
    pub fn from_values<I>(values: I) -> Self
    where
        I: IntoIterator<Item = Option<&'a str>>,
    {
        let mut values = values.into_iter();
        let first = values.next();
        AuthorizationHeaders {
            first,
            several: first.is_some() && values.next().is_some(),
        }
    }

    /// The one header's text, `None` without a header, or
    /// [`AuthFailure::InvalidRequest`] for several headers or one that is
    /// not text.
    pub fn single(&self) -> Result<Option<&'a str>, AuthFailure> {
        match self.first {
            _ if self.several => Err(AuthFailure::InvalidRequest),
            None => Ok(None),
            Some(Some(value)) => Ok(Some(value)),
            Some(None) => Err(AuthFailure::InvalidRequest),
        }
    }
}

impl<'a> From<Option<&'a str>> for AuthorizationHeaders<'a> {
    fn from(value: Option<&'a str>) -> Self {
        AuthorizationHeaders::from_values(value.map(Some))
    }
}

impl WebAuth {
    async fn verify_access_token(
        &self,
        token: &str,
    ) -> Result<(AccessTokenClaims, serde_json::Value), ValidationError> {
        let payload: serde_json::Value = self.scalekit.validate_token(token).await?;
        let claims = AccessTokenClaims::deserialize(&payload)
            .map_err(|_| ValidationError::Malformed(crate::Malformed::Claims))?;
        Ok((claims, payload))
    }

    /// Authenticates a request from its `Authorization` headers and
    /// cookies: a bearer token first, else the session (refreshed when
    /// needed). Several `Authorization` headers are refused
    /// ([`AuthFailure::InvalidRequest`]); a bearer token authenticates only
    /// when it is an access token for one of the accepted audiences.
    pub async fn authenticate(
        &self,
        authorization: impl Into<AuthorizationHeaders<'_>>,
        cookies: &RequestCookies<'_>,
    ) -> RequestAuth {
        let authorization = match authorization.into().single() {
            Ok(value) => value,
            Err(failure) => {
                return RequestAuth {
                    result: Err(failure),
                    set_cookies: Vec::new(),
                };
            }
        };
        if let Some(token) = authorization.and_then(bearer_token) {
            let result = match self.verify_access_token(token).await {
                Ok((claims, payload)) => Ok(Some(Authenticated {
                    claims,
                    access_token: token.to_owned(),
                    user: None,
                    via: Via::Bearer,
                    payload: Arc::new(payload),
                })),
                Err(ValidationError::KeysUnavailable) => Err(AuthFailure::Unavailable),
                Err(err) => Err(AuthFailure::InvalidToken(err)),
            };
            return RequestAuth {
                result,
                set_cookies: Vec::new(),
            };
        }
        let resolved = match self.sessions.resolve(cookies).await {
            Ok(resolved) => resolved,
            Err(err) => {
                // The session is kept and its cookie left untouched: a
                // refresh that cannot be made now, or the store, is
                // unavailable. 503 with Retry-After.
                match err {
                    SessionError::RefreshUnavailable => {
                        tracing::warn!("session refresh unavailable; the session is kept");
                    }
                    err => tracing::warn!(error = %err, "session unavailable"),
                }
                return RequestAuth {
                    result: Err(AuthFailure::Unavailable),
                    set_cookies: Vec::new(),
                };
            }
        };
        let Some(session) = resolved.session else {
            return RequestAuth {
                result: Ok(None),
                set_cookies: resolved.set_cookies,
            };
        };
        let result = match self.verify_access_token(&session.access_token).await {
            Ok((claims, payload)) => Ok(Some(Authenticated {
                claims,
                access_token: session.access_token.clone(),
                user: Some(session.user.clone()),
                via: Via::Session,
                payload: Arc::new(payload),
            })),
            Err(ValidationError::KeysUnavailable) => Err(AuthFailure::Unavailable),
            Err(err) => {
                tracing::info!(error = %err, "session access token refused");
                Ok(None)
            }
        };
        RequestAuth {
            result,
            set_cookies: resolved.set_cookies,
        }
    }
}

/// The token of an `Authorization: Bearer <token>` value (scheme
/// case-insensitive).
pub fn bearer_token(authorization: &str) -> Option<&str> {
    let (scheme, token) = authorization.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_parsing() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer  abc "), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer"), None);
        assert_eq!(bearer_token("Bearer "), None);
    }
}
