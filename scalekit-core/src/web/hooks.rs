//! The after-login hook and what it decides.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use super::Answer;
use crate::oauth::AuthenticationResponse;

/// A check run after a successful login, before the session starts (see
/// [`WebAuth::after_login`](super::WebAuth::after_login)).
pub type AfterLogin = Arc<
    dyn Fn(AuthenticationResponse) -> Pin<Box<dyn Future<Output = LoginDecision> + Send>>
        + Send
        + Sync,
>;

/// What the after-login hook decided: start the session (optionally with
/// application data in it and another redirect target), or refuse the
/// sign-in with a message on the sign-in failure page or with the
/// application's own response.
///
/// ```
/// use scalekit_core::web::{Answer, LoginDecision};
///
/// #[derive(serde::Serialize)]
/// struct Preferences { theme: &'static str }
///
/// let welcome = LoginDecision::allow()
///     .with_data(&Preferences { theme: "dark" })
///     .redirect_to("/welcome");
/// let refused = LoginDecision::refuse("Your organization has no seat left.");
/// let own = LoginDecision::respond(Answer::new(403, "text/plain", "Ask your administrator."));
/// // `Ok(())` allows, `Err(message)` refuses.
/// let simple: LoginDecision = Ok::<(), String>(()).into();
/// # let _ = (welcome, refused, own, simple);
/// ```
#[derive(Debug)]
pub struct LoginDecision(pub(crate) Decision);

#[derive(Debug)]
pub(crate) enum Decision {
    Allow {
        data: Option<Result<crate::session::SessionData, crate::session::SessionDataError>>,
        redirect: Option<String>,
    },
    Refuse(String),
    Respond(Answer),
}

impl LoginDecision {
    /// Start the session and go to the login's return target (else the
    /// after-login path).
    pub fn allow() -> Self {
        LoginDecision(Decision::Allow {
            data: None,
            redirect: None,
        })
    }

    /// Refuse the sign-in: the sign-in failure page (`403`) shows
    /// `message` (escaped).
    pub fn refuse(message: impl Into<String>) -> Self {
        LoginDecision(Decision::Refuse(message.into()))
    }

    /// Refuse the sign-in with the application's own answer (the login
    /// state cookie is still cleared).
    pub fn respond(answer: Answer) -> Self {
        LoginDecision(Decision::Respond(answer))
    }

    /// Starts the session with `value` as its application data (see
    /// [`SessionValue`](super::SessionValue)). Data that cannot be serialized, or is larger than
    /// the session data limit, fails the sign-in (failure page, logged).
    /// No effect on a refusal.
    pub fn with_data<T: serde::Serialize + ?Sized>(mut self, value: &T) -> Self {
        if let Decision::Allow { data, .. } = &mut self.0 {
            *data = Some(crate::session::SessionData::encode(value));
        }
        self
    }

    /// Sends the user to `target` after sign-in, instead of the login's
    /// return target. It must be a same-site path (`/…`, checked as
    /// `return_to` is); another target is ignored with a warning. No
    /// effect on a refusal.
    pub fn redirect_to(mut self, target: impl Into<String>) -> Self {
        if let Decision::Allow { redirect, .. } = &mut self.0 {
            *redirect = Some(target.into());
        }
        self
    }
}

impl From<Result<(), String>> for LoginDecision {
    fn from(result: Result<(), String>) -> Self {
        match result {
            Ok(()) => LoginDecision::allow(),
            Err(message) => LoginDecision::refuse(message),
        }
    }
}

impl From<Answer> for LoginDecision {
    fn from(answer: Answer) -> Self {
        LoginDecision::respond(answer)
    }
}
