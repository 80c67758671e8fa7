//! Headless passwordless email: send, resend, verify (the SDK's
//! `client.passwordless`).
//!
//! The calls share the client's token cache, HTTP client and timeout, and
//! go through [`scalekit_core::passwordless`]: a send is repeated only when
//! it cannot have reached the platform, and a `429` is never retried (it is
//! the answer: the per-address send limit, or an auth request dead after
//! too many wrong codes). Failures are a typed [`PasswordlessError`].

use scalekit_core::passwordless::PasswordlessClient;

use crate::ManagementClient;
pub use scalekit_core::passwordless::{
    Credential, PasswordlessError, PasswordlessType, SendPasswordlessRequest,
    SendPasswordlessResponse, Template, VerifiedEmail,
};

/// The passwordless email operations.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use scalekit_core::Scalekit;
/// use scalekit_management::ManagementClient;
/// use scalekit_management::passwordless::{Credential, PasswordlessError, SendPasswordlessRequest};
///
/// let client = ManagementClient::new(&Scalekit::from_env()?)?;
/// let sent = client
///     .passwordless()
///     .send_passwordless_email(
///         &SendPasswordlessRequest::new("ada@example.com")
///             .magiclink_auth_uri("https://app.example.com/auth/passwordless/verify"),
///     )
///     .await?;
/// match client
///     .passwordless()
///     .verify_passwordless_email(&Credential::code("123456"), Some(&sent.auth_request_id))
///     .await
/// {
///     Ok(verified) => println!("{} verified", verified.email),
///     Err(PasswordlessError::WrongCode { attempts_left }) => println!("{attempts_left:?} left"),
///     Err(err) => println!("{err}"),
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Passwordless {
    client: PasswordlessClient,
}

impl Passwordless {
    /// Emails a code and/or a magic link (`sendPasswordlessEmail`). The
    /// request is checked first (address, reserved template variables):
    /// nothing is sent for one that fails.
    pub async fn send_passwordless_email(
        &self,
        request: &SendPasswordlessRequest,
    ) -> Result<SendPasswordlessResponse, PasswordlessError> {
        self.client.send(request).await
    }

    /// Sends the email of `auth_request_id` again
    /// (`resendPasswordlessEmail`); it counts towards the address's limit.
    pub async fn resend_passwordless_email(
        &self,
        auth_request_id: &str,
    ) -> Result<SendPasswordlessResponse, PasswordlessError> {
        self.client.resend(auth_request_id).await
    }

    /// Checks a code or a link token (`verifyPasswordlessEmail`): a code
    /// needs its `auth_request_id`; a link token takes it when known
    /// (required under same-browser enforcement).
    pub async fn verify_passwordless_email(
        &self,
        credential: &Credential,
        auth_request_id: Option<&str>,
    ) -> Result<VerifiedEmail, PasswordlessError> {
        self.client.verify(credential, auth_request_id).await
    }
}

impl ManagementClient {
    /// The passwordless email operations (sharing this client's token,
    /// HTTP client and timeout).
    pub fn passwordless(&self) -> Passwordless {
        Passwordless {
            client: PasswordlessClient::with_token_cache(
                self.environment_url(),
                self.http_client().clone(),
                self.token_cache().clone(),
            )
            .timeout(self.call_timeout()),
        }
    }
}
