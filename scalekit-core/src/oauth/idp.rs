//! IdP-initiated login (PROTOCOL.md §6) and safe return targets.

use percent_encoding::percent_decode_str;

use crate::claims::IdpInitiatedLoginClaims;
use crate::client::Scalekit;
use crate::validate::{TokenPurpose, ValidationError};

use super::urls::AuthorizationUrlOptions;

/// Longest accepted return target.
pub const MAX_RETURN_TO_LEN: usize = 2048;

/// `target` when it is a safe same-site relative path (`/dashboard?tab=1`),
/// `None` otherwise: absolute URLs, scheme-relative `//host`, backslashes
/// (`/\host`), control characters and their percent-encoded forms are all
/// refused, as are targets over 2 KiB.
///
/// ```
/// use scalekit_core::oauth::safe_return_to;
///
/// assert_eq!(safe_return_to("/dashboard?tab=1"), Some("/dashboard?tab=1"));
/// for evil in ["//evil.com", "https://evil.com", "/\\evil.com", "/%2F%2Fevil.com", "%2F%2Fevil.com", "/%5Cevil.com", "evil.com"] {
///     assert_eq!(safe_return_to(evil), None, "{evil}");
/// }
/// ```
pub fn safe_return_to(target: &str) -> Option<&str> {
    if target.len() > MAX_RETURN_TO_LEN || !target.starts_with('/') {
        return None;
    }
    let decoded = percent_decode_str(target).decode_utf8().ok()?;
    for candidate in [target, &*decoded] {
        if candidate.starts_with("//")
            || candidate.contains('\\')
            || candidate.chars().any(char::is_control)
        {
            return None;
        }
    }
    Some(target)
}

/// [`safe_return_to`] for a target that goes into a `Location` header: a
/// safe target with every non-ASCII character percent-encoded (UTF-8), so
/// that a decoded query value such as `/café` still makes a valid header.
///
/// ```
/// use scalekit_core::oauth::safe_return_target;
///
/// assert_eq!(safe_return_target("/café?x=1").as_deref(), Some("/caf%C3%A9?x=1"));
/// assert_eq!(safe_return_target("//evil.com"), None);
/// ```
pub fn safe_return_target(target: &str) -> Option<String> {
    let safe = safe_return_to(target)?;
    let mut out = String::with_capacity(safe.len());
    for c in safe.chars() {
        crate::util::push_ascii(&mut out, c);
    }
    Some(out)
}

/// A verified IdP-initiated login and what to do with it: start a new
/// SP-initiated login with [`IdpInitiatedLogin::authorization_options`]
/// (plus the application's own `state`, nonce and PKCE), then send the user
/// to [`IdpInitiatedLogin::return_to`] when it is set.
#[derive(Debug, Clone, PartialEq)]
pub struct IdpInitiatedLogin {
    /// The verified claims.
    pub claims: IdpInitiatedLoginClaims,
    /// `connection_id`, `organization_id` and `login_hint` from the claims.
    pub authorization_options: AuthorizationUrlOptions,
    /// `relay_state` when it is a safe same-site relative path. It is never
    /// used as the CSRF `state` (the application did not create it).
    pub return_to: Option<String>,
}

impl Scalekit {
    /// Verifies an `idp_initiated_login` token against the environment's
    /// keys (the SDK's `getIdpInitiatedLoginClaims`): signature, `iss`,
    /// `exp`, and its own claim set (no `sub`, no `nonce`, an
    /// `organization_id` or a `connection_id`), so that no other token of
    /// the environment passes for one. Such a token never authenticates a
    /// request: as a bearer token it is refused.
    pub async fn get_idp_initiated_login_claims(
        &self,
        token: &str,
    ) -> Result<IdpInitiatedLoginClaims, ValidationError> {
        let options = self
            .validator()
            .options()
            .clone()
            .without_audience_check()
            .purpose(TokenPurpose::IdpInitiatedLogin);
        self.validator().validate_with(token, &options).await
    }

    /// Verifies an `idp_initiated_login` token and derives the parameters of
    /// the new SP-initiated login (PROTOCOL.md §6).
    ///
    /// ```no_run
    /// # async fn demo(scalekit: scalekit_core::Scalekit, token: &str) -> Result<(), Box<dyn std::error::Error>> {
    /// let login = scalekit.idp_initiated_login(token).await?;
    /// let mut options = login.authorization_options.clone();
    /// options.state = Some(scalekit_core::oauth::generate_state()?);
    /// let url = scalekit.authorization_url("https://app.example.com/auth/callback", &options);
    /// # let _ = url; Ok(()) }
    /// ```
    pub async fn idp_initiated_login(
        &self,
        token: &str,
    ) -> Result<IdpInitiatedLogin, ValidationError> {
        let claims = self.get_idp_initiated_login_claims(token).await?;
        let authorization_options = AuthorizationUrlOptions {
            connection_id: claims.connection_id.clone(),
            organization_id: claims.organization_id.clone(),
            login_hint: claims.login_hint.clone(),
            ..AuthorizationUrlOptions::default()
        };
        let return_to = claims.relay_state.as_deref().and_then(safe_return_target);
        if claims.relay_state.is_some() && return_to.is_none() {
            tracing::info!("relay_state ignored: not a safe relative path");
        }
        Ok(IdpInitiatedLogin {
            claims,
            authorization_options,
            return_to,
        })
    }
}
