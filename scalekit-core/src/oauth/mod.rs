//! The OAuth flows: authorization URL, PKCE, `state` and `nonce`, code
//! exchange, refresh, client credentials (with a cached token), logout URL
//! and IdP-initiated login.

mod idp;
mod m2m;
mod token;
mod urls;

pub use idp::{IdpInitiatedLogin, MAX_RETURN_TO_LEN, safe_return_target, safe_return_to};
pub use m2m::ClientCredentialsCache;
pub use token::{
    AuthenticationResponse, CodeExchange, OAuthErrorCode, RENEW_BEFORE_EXPIRY, TokenError,
    TokenResponse, User,
};
pub use urls::{
    AuthorizationUrlOptions, DEFAULT_SCOPES, LogoutUrlOptions, Pkce, RandomError,
    authorization_url, generate_nonce, generate_state, logout_url,
};

impl crate::client::Scalekit {
    /// The authorization URL for `redirect_uri` (the SDK's
    /// `getAuthorizationUrl`); see [`authorization_url`].
    pub fn authorization_url(
        &self,
        redirect_uri: &str,
        options: &AuthorizationUrlOptions,
    ) -> String {
        authorization_url(self.config(), redirect_uri, options)
    }

    /// The logout URL (the SDK's `getLogoutUrl`); see [`logout_url`].
    pub fn logout_url(&self, options: &LogoutUrlOptions) -> String {
        logout_url(self.config(), options)
    }
}
