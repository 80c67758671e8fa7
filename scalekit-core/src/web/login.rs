//! Login and callback: the redirect to the platform with a fresh login
//! state (state, nonce, PKCE), and the callback that checks it, exchanges the
//! code and starts the session; IdP-initiated logins start a new one.

use std::collections::HashMap;

use super::{Decision, RequestOrigin, SignInFailure, WebAuth, WebResponse};
use crate::oauth::{
    AuthenticationResponse, AuthorizationUrlOptions, CodeExchange, OAuthErrorCode, TokenError,
    safe_return_target, safe_return_to,
};
use crate::session::{LoginState, RequestCookies, SessionData, SessionError, StoreError};
use crate::telemetry::CallbackOutcome;
use crate::validate::ValidationError;

/// Longest accepted login pass-through parameter.
const MAX_PARAM_LEN: usize = 256;

impl WebAuth {
    /// The redirect to login for a browser request to `path_and_query`.
    pub fn login_redirect(&self, path_and_query: &str) -> WebResponse {
        let mut location = self.paths.login.clone();
        if let Some(target) = safe_return_to(path_and_query) {
            location.push_str("?return_to=");
            location.extend(percent_encoding::utf8_percent_encode(
                target,
                percent_encoding::NON_ALPHANUMERIC,
            ));
        }
        WebResponse::Redirect {
            location,
            set_cookies: Vec::new(),
        }
    }

    /// `GET /auth/login`: a new login state cookie and the redirect to the
    /// authorization URL. `return_to` is honoured when it is a safe same-site
    /// path; `organization_id`, `connection_id`, `login_hint`, `domain_hint`,
    /// `provider` and `prompt` pass through when short and free of control
    /// characters.
    ///
    /// With `idp_initiated_login` (the platform's initiate-login URL points
    /// here), the token is handled exactly as the callback handles it: a
    /// verified token starts a login with its organization, connection and
    /// login hint (its safe `relay_state` as the return target); any other
    /// token gets the failure page, never a plain login.
    pub async fn login(
        &self,
        query: &HashMap<String, String>,
        origin: &RequestOrigin<'_>,
    ) -> WebResponse {
        if let Some(token) = query.get("idp_initiated_login") {
            return self.idp_initiated_login(token, origin).await.0;
        }
        let param = |name: &str| {
            query
                .get(name)
                .filter(|v| {
                    !v.is_empty() && v.len() <= MAX_PARAM_LEN && !v.chars().any(char::is_control)
                })
                .cloned()
        };
        let return_to = query.get("return_to").and_then(|t| safe_return_target(t));
        self.start_login(
            origin,
            AuthorizationUrlOptions {
                organization_id: param("organization_id"),
                connection_id: param("connection_id"),
                login_hint: param("login_hint"),
                domain_hint: param("domain_hint"),
                provider: param("provider"),
                prompt: param("prompt"),
                ..AuthorizationUrlOptions::default()
            },
            return_to,
        )
    }

    fn start_login(
        &self,
        origin: &RequestOrigin<'_>,
        mut options: AuthorizationUrlOptions,
        return_to: Option<String>,
    ) -> WebResponse {
        let state = match LoginState::new(return_to) {
            Ok(state) => state,
            Err(_) => return self.sign_in_failed(SignInFailure::Failed, Vec::new()),
        };
        let cookie = match self.sessions.login_state_cookie(&state) {
            Ok(cookie) => cookie,
            Err(_) => return self.sign_in_failed(SignInFailure::Failed, Vec::new()),
        };
        let pkce = state.pkce();
        options.scopes = Some(self.login_scopes.clone());
        options.state = Some(state.state.clone());
        options.nonce = Some(state.nonce.clone());
        options.code_challenge = Some(pkce.challenge().to_owned());
        options.code_challenge_method = Some(pkce.method().to_owned());
        WebResponse::Redirect {
            location: self
                .scalekit
                .authorization_url(&self.redirect_uri_for(origin), &options),
            set_cookies: vec![cookie],
        }
    }

    /// An `idp_initiated_login` token on the login route or the callback
    /// (PROTOCOL.md §6): one code path for both.
    async fn idp_initiated_login(
        &self,
        token: &str,
        origin: &RequestOrigin<'_>,
    ) -> (WebResponse, CallbackOutcome) {
        match self.scalekit.idp_initiated_login(token).await {
            Ok(login) => {
                tracing::info!(
                    organization = ?login.claims.organization_id,
                    connection = ?login.claims.connection_id,
                    "IdP-initiated login"
                );
                let redirect =
                    self.start_login(origin, login.authorization_options, login.return_to);
                (redirect, CallbackOutcome::IdpInitiated)
            }
            Err(err) => {
                tracing::warn!(error = %err, "IdP-initiated login refused");
                let why = match err {
                    ValidationError::Expired => SignInFailure::LinkUsedOrExpired,
                    _ => SignInFailure::Failed,
                };
                (
                    self.sign_in_failed(why, Vec::new()),
                    CallbackOutcome::IdpInitiatedRefused,
                )
            }
        }
    }

    /// `GET /auth/callback`: handles `code` + `state`, `error`, and
    /// `idp_initiated_login`.
    ///
    /// Runs in a `scalekit.callback` span (fields `user_id`, `session`,
    /// `outcome`) and counts [`CALLBACKS`](crate::telemetry::CALLBACKS) by
    /// [`CallbackOutcome`].
    pub async fn callback(
        &self,
        query: &HashMap<String, String>,
        cookies: &RequestCookies<'_>,
        origin: &RequestOrigin<'_>,
    ) -> WebResponse {
        use tracing::Instrument;
        use tracing::field::Empty;
        let span = tracing::info_span!(
            "scalekit.callback",
            user_id = Empty,
            session = Empty,
            outcome = Empty
        );
        let (response, outcome) = self
            .handle_callback(query, cookies, origin, &span)
            .instrument(span.clone())
            .await;
        let response = match response {
            Callback::Answer(response) => response,
            Callback::Failed(why, set_cookies, return_to) => {
                self.failed_unless_signed_in(why, set_cookies, return_to, cookies)
                    .await
            }
        };
        span.record("outcome", outcome.as_str());
        crate::telemetry::callback(outcome);
        response
    }

    async fn handle_callback(
        &self,
        query: &HashMap<String, String>,
        cookies: &RequestCookies<'_>,
        origin: &RequestOrigin<'_>,
        span: &tracing::Span,
    ) -> (Callback, CallbackOutcome) {
        if let Some(token) = query.get("idp_initiated_login") {
            let (response, outcome) = self.idp_initiated_login(token, origin).await;
            return (Callback::Answer(response), outcome);
        }
        let (state, clear_state) = match self.sessions.take_login_state(cookies) {
            Ok(found) => found,
            Err(err) => {
                tracing::warn!(error = %err, "callback without a valid login state");
                // A reloaded or reused callback: its login state is gone.
                return (
                    Callback::Failed(
                        SignInFailure::LinkUsedOrExpired,
                        vec![self.sessions.login_state_removal()],
                        None,
                    ),
                    CallbackOutcome::NoLoginState,
                );
            }
        };
        if let Some(error) = query.get("error") {
            // Attacker-influenced: logged quoted (no forged log lines), never
            // reflected.
            tracing::warn!(error = ?error.chars().take(64).collect::<String>(), "the platform returned an error");
            let why = match error.as_str() {
                "access_denied" => SignInFailure::Denied,
                "connection_not_active" | "no_active_connections" | "no_configured_connections" => {
                    SignInFailure::ConnectionOff
                }
                _ => SignInFailure::Failed,
            };
            return (
                Callback::Failed(why, vec![clear_state], state.return_to),
                CallbackOutcome::PlatformError,
            );
        }
        let (Some(code), Some(returned_state)) = (query.get("code"), query.get("state")) else {
            return (
                Callback::Failed(SignInFailure::Failed, vec![clear_state], state.return_to),
                CallbackOutcome::MissingCode,
            );
        };
        if aws_lc_rs::constant_time::verify_slices_are_equal(
            returned_state.as_bytes(),
            state.state.as_bytes(),
        )
        .is_err()
        {
            tracing::warn!("callback state mismatch");
            return (
                Callback::Failed(
                    SignInFailure::LinkUsedOrExpired,
                    vec![clear_state],
                    state.return_to,
                ),
                CallbackOutcome::StateMismatch,
            );
        }
        let exchange = CodeExchange {
            code_verifier: Some(state.code_verifier.clone()),
            nonce: Some(state.nonce.clone()),
        };
        let auth = match self
            .scalekit
            .authenticate_with_code(code, &self.redirect_uri_for(origin), &exchange)
            .await
        {
            Ok(auth) => auth,
            Err(err) if err.is_transient() => {
                // The platform cannot be reached right now: 503 with
                // Retry-After, and a page saying to sign in again shortly.
                tracing::warn!(error = %err, "code exchange failed transiently");
                let page = self.store_unavailable_page(
                    "Sign-in is temporarily unavailable",
                    "Your sign-in could not be completed just now. Please sign in again in a few seconds.",
                );
                return (Callback::Answer(page), CallbackOutcome::ExchangeFailed);
            }
            Err(err) => {
                tracing::warn!(error = %err, "code exchange failed");
                let why = match err {
                    TokenError::OAuth {
                        code: OAuthErrorCode::InvalidGrant,
                        ..
                    } => SignInFailure::LinkUsedOrExpired,
                    _ => SignInFailure::Failed,
                };
                return (
                    Callback::Failed(why, vec![clear_state], state.return_to),
                    CallbackOutcome::ExchangeFailed,
                );
            }
        };
        span.record("user_id", auth.user.id.as_str());
        let (data, redirect) = match self.decide_after_login(&auth, &clear_state).await {
            Ok(allowed) => allowed,
            Err((response, outcome)) => return (Callback::Answer(response), outcome),
        };
        let mut set_cookies = vec![clear_state];
        match self.sessions.start_with(&auth, cookies, data).await {
            Ok((session, cookies)) => {
                crate::telemetry::record_session(span, &session.id);
                set_cookies.extend(cookies);
            }
            Err(SessionError::Store(StoreError::Unavailable)) => {
                // The session store cannot be reached: 503 with Retry-After
                // and a page saying to sign in again shortly.
                tracing::warn!("session could not start: the session store is unavailable");
                let page = self.store_unavailable_page(
                    "Sign-in is temporarily unavailable",
                    "Your sign-in could not be completed just now. Please sign in again in a few seconds.",
                );
                return (Callback::Answer(page), CallbackOutcome::SessionFailed);
            }
            Err(err) => {
                tracing::warn!(error = %err, "session could not start");
                return (
                    Callback::Answer(self.sign_in_failed(SignInFailure::Failed, set_cookies)),
                    CallbackOutcome::SessionFailed,
                );
            }
        }
        let redirect = WebResponse::Redirect {
            location: redirect
                .or(state.return_to)
                .unwrap_or_else(|| self.paths.after_login.clone()),
            set_cookies,
        };
        (Callback::Answer(redirect), CallbackOutcome::SignedIn)
    }

    /// A failed callback's answer: for a visitor who already has a live
    /// session (a reloaded callback, a sign-in link used twice), the
    /// return target (else the after-login path); the failure page
    /// otherwise.
    async fn failed_unless_signed_in(
        &self,
        why: SignInFailure,
        mut set_cookies: Vec<String>,
        return_to: Option<String>,
        cookies: &RequestCookies<'_>,
    ) -> WebResponse {
        if matches!(
            why,
            SignInFailure::LinkUsedOrExpired | SignInFailure::Failed
        ) && let Ok(resolved) = self.sessions.resolve(cookies).await
            && resolved.session.is_some()
        {
            set_cookies.extend(resolved.set_cookies);
            return WebResponse::Redirect {
                location: return_to.unwrap_or_else(|| self.paths.after_login.clone()),
                set_cookies,
            };
        }
        self.sign_in_failed(why, set_cookies)
    }

    /// Runs the after-login hook: the session's data and the redirect
    /// target it chose, or the answer refusing the sign-in.
    pub(super) async fn decide_after_login(
        &self,
        auth: &AuthenticationResponse,
        clear_state: &str,
    ) -> Result<(Option<SessionData>, Option<String>), (WebResponse, CallbackOutcome)> {
        let Some(hook) = &self.after_login else {
            return Ok((None, None));
        };
        let refused = |message: String| self.sign_in_refused(message, vec![clear_state.to_owned()]);
        match hook(auth.clone()).await.0 {
            Decision::Allow { data, redirect } => {
                // Its size is checked where the session starts.
                let data = match data.transpose() {
                    Ok(data) => data,
                    Err(err) => {
                        tracing::warn!(error = %err, user = %auth.user.id, "the after-login hook's session data was refused");
                        return Err((
                            self.sign_in_failed(
                                SignInFailure::Failed,
                                vec![clear_state.to_owned()],
                            ),
                            CallbackOutcome::SessionFailed,
                        ));
                    }
                };
                let redirect = redirect.and_then(|target| {
                    let safe = safe_return_target(&target);
                    if safe.is_none() {
                        tracing::warn!(target = ?target.chars().take(64).collect::<String>(), "the after-login hook's redirect target is not a same-site path; ignored");
                    }
                    safe
                });
                Ok((data, redirect))
            }
            Decision::Refuse(message) => {
                tracing::info!(user = %auth.user.id, "login refused by the after-login hook");
                Err((refused(message), CallbackOutcome::RefusedByHook))
            }
            Decision::Respond(answer) => {
                tracing::info!(user = %auth.user.id, "login answered by the after-login hook");
                Err((
                    WebResponse::Custom {
                        answer,
                        set_cookies: vec![clear_state.to_owned()],
                    },
                    CallbackOutcome::RefusedByHook,
                ))
            }
        }
    }
}

/// What the callback made of a request: an answer, or a failure to answer
/// with the failure page unless the visitor is signed in already.
enum Callback {
    Answer(WebResponse),
    /// Why, the cookies to send, and the return target of the login.
    Failed(SignInFailure, Vec<String>, Option<String>),
}
