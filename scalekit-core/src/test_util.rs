//! Helpers for the tests of applications built on these crates (feature
//! `test-util`): a made-up caller for handler unit tests, and a signer whose
//! key a [`Scalekit`] trusts without any network.
//!
//! A handler that takes the caller can be called directly:
//!
//! ```
//! use std::sync::Arc;
//! use scalekit_core::test_util::TestCaller;
//! use scalekit_core::web::Authenticated;
//!
//! fn greeting(caller: &Authenticated) -> String {
//!     format!("hello {} of {}", caller.email().unwrap_or("?"), caller.claims.oid.as_deref().unwrap_or("?"))
//! }
//!
//! let caller = TestCaller::new("usr_123")
//!     .email("ada@example.com")
//!     .organization("org_1")
//!     .permissions(["admin:read"])
//!     .build();
//! assert_eq!(greeting(&caller), "hello ada@example.com of org_1");
//! assert!(caller.claims.permissions.contains(&"admin:read".to_owned()));
//! ```
//!
//! A whole router can be driven with real tokens and no server:
//!
//! ```
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use scalekit_core::AccessTokenClaims;
//! use scalekit_core::test_util::TestSigner;
//!
//! let signer = TestSigner::new("https://acme.scalekit.dev", "skc_1")?;
//! let scalekit = signer.scalekit()?; // trusts only the signer's key; no JWKS fetch
//! let token = signer.access_token("usr_123", serde_json::json!({"scope": "admin:read"}))?;
//! let claims: AccessTokenClaims = scalekit.validate_token(&token).await?;
//! assert_eq!(claims.sub.as_deref(), Some("usr_123"));
//! # Ok(()) }
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(demo()).unwrap();
//! ```

use std::sync::Arc;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{KeyPair, RSA_PKCS1_SHA256, RsaKeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};

use crate::claims::AccessTokenClaims;
use crate::client::Scalekit;
use crate::config::{ConfigError, ScalekitConfig};
use crate::jwk::KeySet;
use crate::oauth::User;
use crate::session::Session;
use crate::util::unix_time;
use crate::validate::VerifiedClaims;
use crate::web::{Authenticated, Resolution};

/// The access token of a [`TestCaller`]: a placeholder no validator accepts.
pub const TEST_ACCESS_TOKEN: &str = "test-access-token";

/// Why a test helper failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TestUtilError {
    /// The system random source or the signing primitive failed.
    #[error("the signing key could not be generated or used")]
    Crypto,
    /// The claims are not a JSON object.
    #[error("the claims must be a JSON object")]
    NotAnObject,
    /// The configuration was refused.
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// A made-up authenticated caller, built without any token, key or server,
/// for unit tests of handlers that take the caller (`AuthUser` in both
/// adapters derefs to [`Authenticated`]).
///
/// Its access token is a placeholder that no validator accepts.
#[derive(Debug, Clone)]
pub struct TestCaller {
    claims: Map<String, Value>,
    user: Option<User>,
}

impl TestCaller {
    /// A caller whose `sub` is `subject`, signed in with a session (its
    /// [`User`] has that id), token valid for an hour.
    pub fn new(subject: impl Into<String>) -> Self {
        let subject = subject.into();
        let now = i64::try_from(unix_time().as_secs()).unwrap_or(i64::MAX);
        let mut claims = Map::new();
        claims.insert("iss".into(), json!("https://scalekit.test"));
        claims.insert("sub".into(), json!(subject));
        claims.insert("iat".into(), json!(now));
        claims.insert("exp".into(), json!(now.saturating_add(3600)));
        let user = User {
            id: subject,
            ..User::default()
        };
        TestCaller {
            claims,
            user: Some(user),
        }
    }

    /// A caller authenticated with a bearer token (no [`User`]), such as an
    /// M2M client.
    pub fn bearer(mut self) -> Self {
        self.user = None;
        self
    }

    /// The user's email (a session caller).
    pub fn email(mut self, email: impl Into<String>) -> Self {
        let email = email.into();
        if let Some(user) = &mut self.user {
            user.email = Some(email.clone());
        }
        self.claims.insert("email".into(), json!(email));
        self
    }

    /// The user's display name (a session caller).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        if let Some(user) = &mut self.user {
            user.name = Some(name.into());
        }
        self
    }

    /// The organization (`oid`).
    pub fn organization(self, org_id: impl Into<String>) -> Self {
        self.claim("oid", json!(org_id.into()))
    }

    /// The roles.
    pub fn roles<I: IntoIterator<Item = S>, S: Into<String>>(self, roles: I) -> Self {
        let roles: Vec<String> = roles.into_iter().map(Into::into).collect();
        self.claim("roles", json!(roles))
    }

    /// The permissions.
    pub fn permissions<I: IntoIterator<Item = S>, S: Into<String>>(self, permissions: I) -> Self {
        let permissions: Vec<String> = permissions.into_iter().map(Into::into).collect();
        self.claim("permissions", json!(permissions))
    }

    /// The granted scopes (the space-separated `scope` claim).
    pub fn scopes<I: IntoIterator<Item = S>, S: Into<String>>(self, scopes: I) -> Self {
        let scopes: Vec<String> = scopes.into_iter().map(Into::into).collect();
        self.claim("scope", json!(scopes.join(" ")))
    }

    /// Any other claim (custom claims read with `claims_as` or `Claims<C>`).
    pub fn claim(mut self, name: impl Into<String>, value: Value) -> Self {
        self.claims.insert(name.into(), value);
        self
    }

    /// The caller. Claims that do not fit [`AccessTokenClaims`] (a `roles`
    /// that is not a list, say) are left out of its typed claims but kept
    /// for `claims_as`. A session caller gets a made-up session (random
    /// id, the placeholder token, expiring with the claims' `exp`).
    pub fn build(self) -> Authenticated {
        let payload = Value::Object(self.claims);
        let claims: AccessTokenClaims = serde_json::from_value(payload.clone()).unwrap_or_default();
        let token: Arc<str> = Arc::from(TEST_ACCESS_TOKEN);
        let expires_at = u64::try_from(claims.exp).unwrap_or_default();
        let verified = VerifiedClaims {
            claims: Arc::new(claims),
            payload: payload.to_string().into_bytes().into(),
            token,
        };
        match self.user {
            None => Authenticated::bearer(verified),
            Some(user) => {
                let now = unix_time().as_secs();
                let session = Session {
                    id: crate::oauth::generate_state()
                        .unwrap_or_else(|_| format!("test-session-{}", user.id)),
                    user,
                    access_token: TEST_ACCESS_TOKEN.into(),
                    refresh_token: None,
                    id_token: None,
                    expires_at,
                    data: None,
                    auth_method: crate::session::AuthMethod::Oauth,
                    created_at: now,
                    last_seen: now,
                    version: 0,
                };
                Authenticated::session(verified, Arc::new(session))
            }
        }
    }

    /// The caller as an auth layer leaves it for the adapters' extractors
    /// and guards: insert it in a request's extensions to test a router
    /// without the layer.
    pub fn resolution(self) -> Resolution {
        Resolution::from_caller(Some(Arc::new(self.build())))
    }
}

/// An RS256 signing key (2048 bits, as the platform uses) made up for tests, and the [`Scalekit`] client that
/// trusts it (and nothing else) without fetching any key set: tokens signed
/// here go through the real validation path.
pub struct TestSigner {
    pair: RsaKeyPair,
    kid: String,
    issuer: String,
    client_id: String,
}

impl std::fmt::Debug for TestSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestSigner")
            .field("kid", &self.kid)
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl TestSigner {
    /// A new key for the environment at `environment_url` (the tokens'
    /// issuer) and the application `client_id` (their audience).
    pub fn new(
        environment_url: impl Into<String>,
        client_id: impl Into<String>,
    ) -> Result<Self, TestUtilError> {
        let pair = RsaKeyPair::generate(KeySize::Rsa2048).map_err(|_| TestUtilError::Crypto)?;
        let kid = format!(
            "test-{}",
            &crate::oauth::generate_state().map_err(|_| TestUtilError::Crypto)?[..12]
        );
        Ok(TestSigner {
            pair,
            kid,
            issuer: environment_url.into().trim_end_matches('/').to_owned(),
            client_id: client_id.into(),
        })
    }

    /// The key id in the tokens' header.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key as a JWKS document.
    pub fn jwks(&self) -> Value {
        let public = self.pair.public_key();
        json!({"keys": [{
            "kty": "RSA", "use": "sig", "alg": "RS256", "kid": self.kid,
            "n": URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero()),
            "e": URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero()),
        }]})
    }

    /// The public key as a [`KeySet`].
    pub fn key_set(&self) -> KeySet {
        match self.jwks().get("keys").and_then(Value::as_array) {
            Some(keys) => KeySet::from_jwks(keys),
            None => KeySet::default(),
        }
    }

    /// A [`Scalekit`] client for this environment and client id (secret
    /// `test-secret`) that trusts this key only (see
    /// [`Scalekit::with_key_set`]).
    pub fn scalekit(&self) -> Result<Scalekit, TestUtilError> {
        let config = ScalekitConfig::new(&self.issuer, &self.client_id, "test-secret")?;
        Ok(Scalekit::with_key_set(config, self.key_set())?)
    }

    /// An access token for `subject`: issuer, audience (the client id),
    /// `iat` and `exp` (an hour) filled in, then `extra` (a JSON object)
    /// added or overriding them (`"exp": 0` for an expired token, say).
    pub fn access_token(&self, subject: &str, extra: Value) -> Result<String, TestUtilError> {
        let now = i64::try_from(unix_time().as_secs()).unwrap_or(i64::MAX);
        let mut claims = json!({
            "iss": self.issuer,
            "sub": subject,
            "aud": [self.client_id],
            "client_id": self.client_id,
            "iat": now,
            "nbf": now,
            "exp": now.saturating_add(3600),
            "jti": format!("tkn_{now}"),
        });
        let (Value::Object(base), Value::Object(extra)) = (&mut claims, extra) else {
            return Err(TestUtilError::NotAnObject);
        };
        base.extend(extra);
        self.sign(&claims)
    }

    /// Signs `claims` (a JSON object) as they are, RS256 with this key.
    pub fn sign(&self, claims: &Value) -> Result<String, TestUtilError> {
        if !claims.is_object() {
            return Err(TestUtilError::NotAnObject);
        }
        let header = json!({"alg": "RS256", "typ": "JWT", "kid": self.kid});
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut signature = vec![0; self.pair.public_modulus_len()];
        self.pair
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                input.as_bytes(),
                &mut signature,
            )
            .map_err(|_| TestUtilError::Crypto)?;
        Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::ValidationError;

    #[tokio::test]
    async fn signed_tokens_pass_the_real_validator_and_forged_ones_do_not() {
        let signer = TestSigner::new("https://acme.scalekit.dev/", "skc_1").unwrap();
        let scalekit = signer.scalekit().unwrap();
        let token = signer
            .access_token("usr_1", json!({"oid": "org_1", "permissions": ["a:b"]}))
            .unwrap();
        let claims = scalekit.validator().validate_access(&token).await.unwrap();
        assert_eq!(claims.claims.oid.as_deref(), Some("org_1"));

        let expired = signer.access_token("usr_1", json!({"exp": 1})).unwrap();
        assert_eq!(
            scalekit
                .validator()
                .validate_access(&expired)
                .await
                .unwrap_err(),
            ValidationError::Expired
        );
        let other = TestSigner::new("https://acme.scalekit.dev", "skc_1").unwrap();
        let foreign = other.access_token("usr_1", json!({})).unwrap();
        assert!(matches!(
            scalekit
                .validator()
                .validate_access(&foreign)
                .await
                .unwrap_err(),
            ValidationError::UnknownKey { .. }
        ));
        let (head, _) = token.rsplit_once('.').unwrap();
        let (_, sig) = foreign.rsplit_once('.').unwrap();
        assert_eq!(
            scalekit
                .validator()
                .validate_access(&format!("{head}.{sig}"))
                .await
                .unwrap_err(),
            ValidationError::BadSignature
        );
        assert!(matches!(
            signer.access_token("usr_1", json!([1])),
            Err(TestUtilError::NotAnObject)
        ));
    }

    #[test]
    fn a_made_up_caller_carries_its_claims() {
        let caller = TestCaller::new("usr_9")
            .email("e@example.com")
            .name("Ada")
            .organization("org_9")
            .roles(["admin"])
            .permissions(["p:1"])
            .scopes(["read", "write"])
            .claim("tier", json!("gold"))
            .build();
        assert_eq!(caller.subject(), "usr_9");
        assert_eq!(caller.email(), Some("e@example.com"));
        assert_eq!(caller.via, crate::web::Via::Session);
        assert_eq!(caller.user().map(|u| u.name.as_deref()), Some(Some("Ada")));
        assert_eq!(caller.access_token(), TEST_ACCESS_TOKEN);
        assert_eq!(caller.claims.roles, ["admin"]);
        assert!(caller.claims.scopes().grants("write"));
        #[derive(serde::Deserialize)]
        struct Custom {
            tier: String,
        }
        assert_eq!(caller.claims_as::<Custom>().unwrap().tier, "gold");
        let bearer = TestCaller::new("m2m_1").bearer().build();
        assert_eq!(bearer.via, crate::web::Via::Bearer);
        assert!(bearer.user().is_none());
    }

    #[tokio::test]
    async fn an_issued_access_token_is_served_to_its_session_without_parsing_it_again() {
        let signer = TestSigner::new("https://acme.scalekit.dev/", "skc_1").unwrap();
        let scalekit = signer.scalekit().unwrap();
        let validator = scalekit.validator();
        let token = signer
            .access_token("usr_1", json!({"oid": "org_1"}))
            .unwrap();
        let issued = validator.verify_issued_access(&token).await.unwrap();
        // The session's first request gets the very claims the login or
        // refresh verified: the same allocation, not a second parse.
        let served = validator.trusted_access_claims(&token).unwrap();
        assert!(Arc::ptr_eq(&issued, &served.claims));
        assert_eq!(served.claims.oid.as_deref(), Some("org_1"));
        // A forged token is refused in full before anything is kept.
        let forged = format!("{}x", &token[..token.len() - 1]);
        assert!(validator.verify_issued_access(&forged).await.is_err());
    }
}
