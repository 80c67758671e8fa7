//! The token endpoint (PROTOCOL.md §4–§5): code exchange, refresh and client
//! credentials, with typed failures; the verified ID token and the `User`.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::claims::IdTokenClaims;
use crate::client::Scalekit;
use crate::config::{Endpoint, Secret};
use crate::validate::{ValidationError, ValidationOptions};

use super::urls::form_body;

/// The OAuth `error` codes of the token endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum OAuthErrorCode {
    /// `invalid_request`.
    InvalidRequest,
    /// `invalid_client`.
    InvalidClient,
    /// `invalid_grant`: the code or refresh token is invalid, expired, used,
    /// or was issued for another redirect URI or PKCE verifier.
    InvalidGrant,
    /// `unauthorized_client`.
    UnauthorizedClient,
    /// `invalid_scope`.
    InvalidScope,
    /// `unsupported_grant_type`.
    UnsupportedGrantType,
    /// Any other code.
    Other(String),
}

impl OAuthErrorCode {
    fn parse(code: &str) -> Self {
        match code {
            "invalid_request" => Self::InvalidRequest,
            "invalid_client" => Self::InvalidClient,
            "invalid_grant" => Self::InvalidGrant,
            "unauthorized_client" => Self::UnauthorizedClient,
            "invalid_scope" => Self::InvalidScope,
            "unsupported_grant_type" => Self::UnsupportedGrantType,
            other => Self::Other(other.chars().take(64).collect()),
        }
    }
}

/// Why a token-endpoint call failed. Transport failures, HTTP statuses,
/// OAuth errors and a bad ID token are kept apart; nothing is retried.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// The endpoint answered with an OAuth error body.
    #[error("token endpoint error {code:?} (HTTP {status})")]
    OAuth {
        /// HTTP status.
        status: u16,
        /// The `error` code.
        code: OAuthErrorCode,
        /// The `error_description`, if any (for logs, never for users).
        description: Option<String>,
    },
    /// A non-success status without an OAuth error body.
    #[error("token endpoint answered HTTP {0}")]
    Status(u16),
    /// The endpoint answered with a redirect: not followed, so the client
    /// secret and the grant are never re-sent elsewhere.
    #[error("token endpoint answered with a redirect (HTTP {0}), not followed")]
    Redirect(u16),
    /// The answer is larger than [`MAX_PLATFORM_RESPONSE_BYTES`](crate::MAX_PLATFORM_RESPONSE_BYTES).
    #[error("token endpoint answer larger than the limit")]
    TooLarge,
    /// The call timed out.
    #[error("token endpoint timed out")]
    Timeout,
    /// No connection could be made, or it broke.
    #[error("token endpoint unreachable")]
    Connect,
    /// A success answer that is not a valid token response.
    #[error("invalid token endpoint response")]
    InvalidResponse,
    /// The response has no ID token where one is required.
    #[error("the token response has no ID token")]
    MissingIdToken,
    /// The ID token failed verification.
    #[error("invalid ID token: {0}")]
    IdToken(ValidationError),
    /// The ID token's `nonce` is missing or not the one sent.
    #[error("the ID token nonce does not match")]
    NonceMismatch,
    /// A refresh was needed but the session has no refresh token (the login
    /// did not ask for `offline_access`).
    #[error("the session has no refresh token")]
    MissingRefreshToken,
}

impl TokenError {
    /// Whether the failure says nothing about the grant itself: the
    /// platform could not be reached or answered `5xx`/`429`, or its answer
    /// was signed with a key not fetched yet. Trying again later may work;
    /// a refused grant (`invalid_grant`) will not.
    ///
    /// ```
    /// use scalekit_core::oauth::TokenError;
    ///
    /// assert!(TokenError::Timeout.is_transient());
    /// assert!(TokenError::Status(503).is_transient());
    /// assert!(!TokenError::MissingIdToken.is_transient());
    /// ```
    pub fn is_transient(&self) -> bool {
        match self {
            TokenError::Timeout | TokenError::Connect | TokenError::InvalidResponse => true,
            TokenError::Status(s) => *s >= 500 || *s == 429,
            TokenError::OAuth { status, code, .. } => {
                *status >= 500
                    || *status == 429
                    || matches!(code, OAuthErrorCode::Other(c) if c == "temporarily_unavailable")
            }
            // The platform's own answer with a key that cannot be had yet:
            // our key cache is behind, the grant is not at fault.
            TokenError::IdToken(
                ValidationError::KeysUnavailable | ValidationError::UnknownKey { .. },
            ) => true,
            _ => false,
        }
    }
}

/// A token-endpoint success answer.
#[derive(Clone, PartialEq, Eq, Deserialize)]
pub struct TokenResponse {
    /// The access token.
    pub access_token: String,
    /// `Bearer`.
    #[serde(default)]
    pub token_type: Option<String>,
    /// Seconds until expiry, as announced (the token's `exp` is the truth).
    #[serde(default)]
    pub expires_in: Option<u64>,
    /// Granted scopes, space-separated.
    #[serde(default)]
    pub scope: Option<String>,
    /// The ID token (code exchange and refresh of an `openid` login).
    #[serde(default)]
    pub id_token: Option<String>,
    /// The refresh token (with `offline_access`; a new one on every refresh).
    #[serde(default)]
    pub refresh_token: Option<String>,
}

impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse")
            .field("access_token", &"***")
            .field("expires_in", &self.expires_in)
            .field("scope", &self.scope)
            .field("id_token", &crate::util::redact(&self.id_token))
            .field("refresh_token", &crate::util::redact(&self.refresh_token))
            .finish()
    }
}

/// The user of a login, built from the verified ID token's claims with the
/// official SDK's mapping (PROTOCOL.md §4).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct User {
    /// `sub`.
    pub id: String,
    /// `name`.
    pub name: Option<String>,
    /// `preferred_username`.
    pub username: Option<String>,
    /// `given_name`.
    pub given_name: Option<String>,
    /// `family_name`.
    pub family_name: Option<String>,
    /// `email`.
    pub email: Option<String>,
    /// `email_verified`.
    pub email_verified: Option<bool>,
    /// `phone_number`.
    pub phone_number: Option<String>,
    /// `phone_number_verified`.
    pub phone_number_verified: Option<bool>,
    /// `profile`.
    pub profile: Option<String>,
    /// `picture`.
    pub picture: Option<String>,
    /// `gender`.
    pub gender: Option<String>,
    /// `birthdate`.
    pub birthdate: Option<String>,
    /// `zoneinfo`.
    pub zoneinfo: Option<String>,
    /// `locale`.
    pub locale: Option<String>,
    /// `updated_at`.
    pub updated_at: Option<serde_json::Value>,
    /// `identities`.
    pub identities: Option<serde_json::Value>,
    /// `metadata`.
    pub metadata: Option<serde_json::Value>,
    /// `oid`: the organization the user signed in to.
    #[serde(default)]
    pub organization_id: Option<String>,
    /// `amr[0]`: the connection the user signed in through (`conn_…`),
    /// as the official SDKs report it.
    #[serde(default)]
    pub connection_id: Option<String>,
}

impl User {
    /// Maps verified ID token claims to a user.
    pub fn from_claims(claims: &IdTokenClaims) -> Self {
        let custom = |k: &str| claims.custom.get(k);
        let text = |k: &str| custom(k).and_then(|v| v.as_str()).map(str::to_owned);
        User {
            id: claims.sub.clone(),
            name: claims.name.clone(),
            username: claims.preferred_username.clone(),
            given_name: claims.given_name.clone(),
            family_name: claims.family_name.clone(),
            email: claims.email.clone(),
            email_verified: claims.email_verified,
            phone_number: text("phone_number"),
            phone_number_verified: custom("phone_number_verified").and_then(|v| v.as_bool()),
            profile: text("profile"),
            picture: claims.picture.clone(),
            gender: text("gender"),
            birthdate: text("birthdate"),
            zoneinfo: text("zoneinfo"),
            locale: claims.locale.clone(),
            updated_at: custom("updated_at").cloned(),
            identities: claims.identities.clone(),
            metadata: custom("metadata").cloned(),
            organization_id: claims.oid.clone(),
            connection_id: claims.connection_id().map(str::to_owned),
        }
    }
}

/// The result of a code exchange.
#[derive(Clone, PartialEq)]
pub struct AuthenticationResponse {
    /// The user, from the verified ID token.
    pub user: User,
    /// The ID token.
    pub id_token: String,
    /// The verified ID token claims.
    pub id_token_claims: IdTokenClaims,
    /// The access token.
    pub access_token: String,
    /// The refresh token, when `offline_access` was requested.
    pub refresh_token: Option<String>,
    /// Seconds until the access token expires, as announced.
    pub expires_in: Option<u64>,
}

impl std::fmt::Debug for AuthenticationResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthenticationResponse")
            .field("user", &self.user)
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

/// Options of a code exchange. Its `Debug` leaves the verifier out.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct CodeExchange {
    /// The PKCE verifier, when the authorization URL carried a challenge.
    pub code_verifier: Option<String>,
    /// The nonce the authorization URL carried: the ID token must echo it.
    pub nonce: Option<String>,
}

impl std::fmt::Debug for CodeExchange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CodeExchange")
            .field("code_verifier", &crate::util::redact(&self.code_verifier))
            .field("nonce", &crate::util::redact(&self.nonce))
            .finish()
    }
}

#[derive(Deserialize)]
struct OAuthErrorBody {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

impl Scalekit {
    /// POSTs a form to the token endpoint and reads a token response.
    async fn token_request(&self, pairs: &[(&str, &str)]) -> Result<TokenResponse, TokenError> {
        use crate::http::ReadError;
        let classify = |err: ReadError| match err {
            ReadError::Redirect(status) => TokenError::Redirect(status),
            ReadError::Timeout => TokenError::Timeout,
            ReadError::Connect => TokenError::Connect,
            ReadError::TooLarge => TokenError::TooLarge,
        };
        let url = self.config().endpoint_url(Endpoint::Token);
        let response = self
            .http_client()
            .post(url)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .header(reqwest::header::ACCEPT, "application/json")
            .body(form_body(pairs))
            .send()
            .await
            .map_err(|e| classify(e.into()))?;
        crate::http::not_redirected(url, &response).map_err(classify)?;
        let status = response.status().as_u16();
        let body = crate::http::read_bounded(response, crate::http::MAX_PLATFORM_RESPONSE_BYTES)
            .await
            .map_err(classify)?;
        if !(200..300).contains(&status) {
            let err = match serde_json::from_slice::<OAuthErrorBody>(&body) {
                Ok(b) => TokenError::OAuth {
                    status,
                    code: OAuthErrorCode::parse(&b.error),
                    description: b.error_description.map(|d| d.chars().take(512).collect()),
                },
                Err(_) => TokenError::Status(status),
            };
            tracing::warn!(status, error = %err, "token endpoint refused the request");
            return Err(err);
        }
        serde_json::from_slice(&body).map_err(|_| TokenError::InvalidResponse)
    }

    /// Exchanges an authorization code (the SDK's `authenticateWithCode`).
    ///
    /// The ID token is verified — signature, `iss`, `aud` containing the
    /// client id, `exp`, and the nonce when one is given — before the `User`
    /// is built from it.
    pub async fn authenticate_with_code(
        &self,
        code: &str,
        redirect_uri: &str,
        exchange: &CodeExchange,
    ) -> Result<AuthenticationResponse, TokenError> {
        let config = self.config();
        let mut pairs = vec![
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("grant_type", "authorization_code"),
            ("client_id", config.client_id()),
            ("client_secret", config.client_secret().expose()),
        ];
        if let Some(verifier) = exchange.code_verifier.as_deref().filter(|v| !v.is_empty()) {
            pairs.push(("code_verifier", verifier));
        }
        let response = self.token_request(&pairs).await?;
        let id_token = response.id_token.ok_or(TokenError::MissingIdToken)?;
        let claims = self
            .verify_id_token(&id_token, exchange.nonce.as_deref())
            .await?;
        tracing::info!(user = %claims.sub, "login completed");
        Ok(AuthenticationResponse {
            user: User::from_claims(&claims),
            id_token,
            id_token_claims: claims,
            access_token: response.access_token,
            refresh_token: response.refresh_token,
            expires_in: response.expires_in,
        })
    }

    /// Verifies an ID token of this client: signature, issuer, `aud`
    /// containing the client id, expiry, and `nonce` when `expected_nonce`
    /// is given.
    pub async fn verify_id_token(
        &self,
        id_token: &str,
        expected_nonce: Option<&str>,
    ) -> Result<IdTokenClaims, TokenError> {
        let options: ValidationOptions = self
            .validator()
            .options()
            .clone()
            .only_audience(self.config().client_id())
            .purpose(crate::validate::TokenPurpose::Id);
        let claims: IdTokenClaims = self
            .validator()
            .validate_with(id_token, &options)
            .await
            .map_err(TokenError::IdToken)?;
        if let Some(expected) = expected_nonce
            && claims.nonce.as_deref() != Some(expected)
        {
            return Err(TokenError::NonceMismatch);
        }
        Ok(claims)
    }

    /// Exchanges a refresh token (the SDK's `refreshAccessToken`). Refresh
    /// tokens rotate: keep the new one. Never call this twice concurrently
    /// with the same refresh token.
    pub async fn refresh_access_token(
        &self,
        refresh_token: &str,
    ) -> Result<TokenResponse, TokenError> {
        let config = self.config();
        let response = self
            .token_request(&[
                ("grant_type", "refresh_token"),
                ("client_id", config.client_id()),
                ("client_secret", config.client_secret().expose()),
                ("refresh_token", refresh_token),
            ])
            .await?;
        if response.refresh_token.is_none() {
            return Err(TokenError::InvalidResponse);
        }
        Ok(response)
    }

    /// Obtains a client-credentials token for this client.
    pub async fn client_credentials_token(
        &self,
        scopes: &[&str],
        audience: Option<&str>,
    ) -> Result<TokenResponse, TokenError> {
        let config = self.config();
        self.client_credentials_token_for(
            config.client_id(),
            config.client_secret(),
            scopes,
            audience,
        )
        .await
    }

    /// Obtains a client-credentials token for another client (an M2M
    /// client's id and secret).
    pub async fn client_credentials_token_for(
        &self,
        client_id: &str,
        client_secret: &Secret,
        scopes: &[&str],
        audience: Option<&str>,
    ) -> Result<TokenResponse, TokenError> {
        let scope = scopes.join(" ");
        let mut pairs = vec![
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("client_secret", client_secret.expose()),
        ];
        if !scope.is_empty() {
            pairs.push(("scope", &scope));
        }
        if let Some(audience) = audience.filter(|a| !a.is_empty()) {
            pairs.push(("audience", audience));
        }
        self.token_request(&pairs).await
    }
}

/// Seconds of the `exp` claim of a JWT, read without verification (for a
/// token just received from the token endpoint, to know when to renew it).
pub(crate) fn unverified_exp(token: &str) -> Option<u64> {
    use base64::Engine as _;
    #[derive(Deserialize)]
    struct Exp {
        exp: Option<f64>,
    }
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    let exp: Exp = serde_json::from_slice(&bytes).ok()?;
    exp.exp
        .filter(|e| e.is_finite() && *e > 0.0)
        .map(|e| e as u64)
}

/// How long before its expiry a cached client-credentials token is renewed.
pub const RENEW_BEFORE_EXPIRY: Duration = Duration::from_secs(60);
