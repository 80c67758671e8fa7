//! Who is calling: the authenticated caller, why credentials were refused,
//! and the result of authenticating one request.

use std::sync::Arc;

use serde::de::DeserializeOwned;

use super::data;
use crate::claims::AccessTokenClaims;
use crate::oauth::User;
use crate::outcome::{Challenge, ErrorOutcome};
use crate::session::Session;
use crate::validate::{ValidationError, VerifiedClaims};

/// How the caller was authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// `Authorization: Bearer`.
    Bearer,
    /// The session cookie.
    Session,
}

/// An authenticated caller: the verified access token and its claims, and
/// the user when the caller has a session. Its `Debug` leaves the token out.
///
/// Cheap to clone: the claims, the token and the session are shared with
/// the caches they came from, not copied per request.
#[derive(Clone)]
pub struct Authenticated {
    /// The verified access token's claims (shared with the verified-token
    /// cache).
    pub claims: Arc<AccessTokenClaims>,
    /// Bearer or session.
    pub via: Via,
    /// The verified payload (JSON text), read by `claims_as`.
    pub(super) payload: Arc<[u8]>,
    /// The access token.
    pub(super) token: Arc<str>,
    /// The session (session callers only).
    pub(super) session: Option<Arc<Session>>,
    /// Session writes made while the request is handled (session callers
    /// only; shared by clones).
    pub(super) writes: Option<Arc<data::SessionWrites>>,
}

impl std::fmt::Debug for Authenticated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticated")
            .field("subject", &self.claims.sub)
            .field("user", &self.user().map(|u| &u.id))
            .field("via", &self.via)
            .finish_non_exhaustive()
    }
}

impl Authenticated {
    /// A caller authenticated by a bearer token.
    pub(crate) fn bearer(verified: VerifiedClaims) -> Self {
        Authenticated {
            claims: verified.claims,
            via: Via::Bearer,
            payload: verified.payload,
            token: verified.token,
            session: None,
            writes: None,
        }
    }

    /// A caller authenticated by its session (whose access token is
    /// `verified`).
    pub(crate) fn session(verified: VerifiedClaims, session: Arc<Session>) -> Self {
        Authenticated {
            claims: verified.claims,
            via: Via::Session,
            payload: verified.payload,
            token: verified.token,
            session: Some(session),
            writes: Some(data::SessionWrites::new()),
        }
    }

    /// A caller authenticated by a passwordless session: it has no
    /// platform token, so its claims are the session's own (`iss` the
    /// environment, `sub` the user, `exp` the session's absolute end, no
    /// scope, permission or role: scope guards refuse it) and its access
    /// token is empty.
    pub(crate) fn passwordless(
        session: Arc<Session>,
        issuer: &str,
        policy: &crate::session::SessionPolicy,
    ) -> Self {
        let claims = AccessTokenClaims {
            iss: issuer.to_owned(),
            sub: Some(session.user.id.clone()),
            iat: i64::try_from(session.created_at).ok(),
            exp: i64::try_from(policy.absolute_end(&session)).unwrap_or(i64::MAX),
            ..AccessTokenClaims::default()
        };
        let payload = serde_json::to_vec(&claims).unwrap_or_else(|_| b"{}".to_vec());
        Authenticated {
            claims: Arc::new(claims),
            via: Via::Session,
            payload: Arc::from(payload),
            token: Arc::from(""),
            session: Some(session),
            writes: Some(data::SessionWrites::new()),
        }
    }

    /// How the caller's session signed in (`None` for a bearer caller).
    ///
    /// ```
    /// # fn show(user: &scalekit_core::web::Authenticated) {
    /// use scalekit_core::session::AuthMethod;
    ///
    /// if user.auth_method() == Some(AuthMethod::Passwordless) {
    ///     // No platform token: nothing to call other APIs with.
    /// }
    /// # }
    /// ```
    pub fn auth_method(&self) -> Option<crate::session::AuthMethod> {
        self.session.as_deref().map(|session| session.auth_method)
    }

    /// The verified claims in a type of your own (custom claims), read
    /// from the verified payload on each call.
    pub fn claims_as<C: DeserializeOwned>(&self) -> Result<C, serde_json::Error> {
        serde_json::from_slice(&self.payload)
    }

    /// The access token (to call another API on the caller's behalf);
    /// empty for a passwordless session, which has none.
    pub fn access_token(&self) -> &str {
        &self.token
    }

    /// The user, from the verified ID token (session callers only).
    pub fn user(&self) -> Option<&User> {
        self.session.as_deref().map(|session| &session.user)
    }

    /// The subject (`usr_…` or an M2M client id).
    pub fn subject(&self) -> &str {
        self.claims.sub.as_deref().unwrap_or_default()
    }

    /// The user's email, when known (sessions).
    pub fn email(&self) -> Option<&str> {
        self.user().and_then(|u| u.email.as_deref())
    }

    /// The organization: the access token's `oid` (or `xoid`), else the
    /// signed-in user's.
    pub fn organization_id(&self) -> Option<&str> {
        self.claims
            .organization_id()
            .or_else(|| self.user().and_then(|u| u.organization_id.as_deref()))
    }

    /// The connection the user signed in through (`amr[0]` of the ID
    /// token), when known (sessions).
    pub fn connection_id(&self) -> Option<&str> {
        self.user().and_then(|u| u.connection_id.as_deref())
    }

    /// When the caller's session ends unless it is used again (Unix
    /// seconds): its absolute timeout or its idle timeout under `policy`,
    /// whichever comes first (session callers only).
    ///
    /// ```
    /// # fn show(user: &scalekit_core::web::Authenticated, web: &scalekit_core::web::WebAuth) {
    /// let ends = user.session_expires_at(web.sessions().session_policy());
    /// # let _ = ends; }
    /// ```
    pub fn session_expires_at(&self, policy: &crate::session::SessionPolicy) -> Option<u64> {
        self.session.as_deref().map(|session| {
            let idle = session.last_seen.saturating_add(policy.idle.as_secs());
            policy.absolute_end(session).min(idle)
        })
    }
}

/// Why a request could not be authenticated although it carried
/// credentials.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthFailure {
    /// The bearer token was refused.
    #[error("invalid bearer token: {0}")]
    InvalidToken(ValidationError),
    /// Keys or the session store are unavailable.
    #[error("authentication is temporarily unavailable")]
    Unavailable,
    /// The request's credentials are malformed: more than one
    /// `Authorization` header, or one that is not text.
    #[error("malformed Authorization header")]
    InvalidRequest,
}

impl AuthFailure {
    /// The RFC 6750 answer.
    ///
    /// ```
    /// use scalekit_core::outcome::Challenge;
    /// use scalekit_core::web::AuthFailure;
    ///
    /// assert_eq!(AuthFailure::InvalidRequest.outcome(&Challenge::new("api")).status, 400);
    /// assert_eq!(AuthFailure::Unavailable.outcome(&Challenge::new("api")).status, 503);
    /// ```
    pub fn outcome(&self, challenge: &Challenge) -> ErrorOutcome {
        match self {
            AuthFailure::InvalidToken(err) => err.outcome(challenge),
            AuthFailure::Unavailable => ErrorOutcome::temporarily_unavailable(
                5,
                "Authentication is temporarily unavailable.",
            ),
            AuthFailure::InvalidRequest => ErrorOutcome::invalid_request(
                challenge,
                "The request must carry at most one Authorization header.",
            ),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::session::{AuthMethod, SessionPolicy};

    /// A passwordless session of `ada@example.com` started at 1,000.
    pub(crate) fn passwordless_session() -> Session {
        let user: User = serde_json::from_value(
            serde_json::json!({"id": "ada@example.com", "email": "ada@example.com"}),
        )
        .unwrap();
        Session {
            id: "s".into(),
            user,
            access_token: String::new(),
            refresh_token: None,
            id_token: None,
            expires_at: u64::MAX,
            data: None,
            auth_method: AuthMethod::Passwordless,
            created_at: 1_000,
            last_seen: 1_000,
            version: 0,
        }
    }

    #[test]
    fn a_passwordless_caller_has_its_sessions_claims_and_no_token() {
        let session = passwordless_session();
        let policy = SessionPolicy::default();
        let caller =
            Authenticated::passwordless(Arc::new(session), "https://acme.scalekit.dev", &policy);
        assert_eq!(caller.auth_method(), Some(AuthMethod::Passwordless));
        assert_eq!(caller.subject(), "ada@example.com");
        assert_eq!(caller.email(), Some("ada@example.com"));
        assert_eq!(caller.access_token(), "");
        assert_eq!(caller.claims.exp, 1_000 + 7 * 24 * 3600);
        // A session of a shorter lifetime says when it ends.
        let short = Session {
            expires_at: 1_000 + 3600,
            ..passwordless_session()
        };
        let short =
            Authenticated::passwordless(Arc::new(short), "https://acme.scalekit.dev", &policy);
        assert_eq!(short.claims.exp, 1_000 + 3600);
        assert!(caller.claims.granted_scopes().next().is_none());
        assert!(caller.claims.permissions.is_empty() && caller.claims.roles.is_empty());
        let claims: serde_json::Value = caller.claims_as().unwrap();
        assert_eq!(claims["sub"], "ada@example.com");
    }
}
