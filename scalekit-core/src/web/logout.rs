//! Logout: the session ends here and at the platform.

use super::{RequestOrigin, WebAuth, WebResponse};
use crate::oauth::LogoutUrlOptions;
use crate::session::{RequestCookies, Session, SessionError, StoreError};

impl WebAuth {
    /// `GET /auth/logout`: ends the session, clears its cookies, and
    /// redirects to the platform logout with `id_token_hint` and the
    /// post-logout URI built from the base URL (a passwordless session,
    /// which has no session at the platform: straight to the after-logout
    /// path).
    ///
    /// Runs in a `scalekit.logout` span (fields `user_id`, `session`,
    /// `outcome`: `ended`, `no_session` or `store_error`).
    pub async fn logout(
        &self,
        cookies: &RequestCookies<'_>,
        origin: &RequestOrigin<'_>,
    ) -> WebResponse {
        use tracing::Instrument;
        use tracing::field::Empty;
        let span = tracing::info_span!(
            "scalekit.logout",
            user_id = Empty,
            session = Empty,
            outcome = Empty
        );
        self.end_for_logout(cookies, origin, &span)
            .instrument(span.clone())
            .await
    }

    async fn end_for_logout(
        &self,
        cookies: &RequestCookies<'_>,
        origin: &RequestOrigin<'_>,
        span: &tracing::Span,
    ) -> WebResponse {
        let mut id_token_hint = None;
        let mut at_platform = true;
        let mut set_cookies = self.sessions.clear_cookies(cookies);
        // The session as stored, not refreshed: logout must not wait on (or
        // fail with) the token endpoint.
        let ended = match self.sessions.load(cookies).await {
            Ok(Some(session)) => {
                span.record("user_id", session.user.id.as_str());
                crate::telemetry::record_session(span, &session.id);
                id_token_hint = session.id_token.clone();
                // A passwordless session has no session at the platform.
                at_platform = session.auth_method == crate::session::AuthMethod::Oauth;
                self.sessions.end(&session, cookies).await.map(Some)
            }
            Ok(None) => Ok(None),
            Err(err) => Err(err),
        };
        match ended {
            Ok(Some(cleared)) => {
                set_cookies = cleared;
                span.record("outcome", "ended");
            }
            Ok(None) => {
                span.record("outcome", "no_session");
            }
            // A server-side session that cannot be removed now would outlive
            // the logout for any copy of its cookie: say so and keep the
            // cookie, so that signing out again removes it.
            Err(SessionError::Store(StoreError::Unavailable)) => {
                span.record("outcome", "store_error");
                tracing::warn!("logout: the session store is unavailable; the session is kept");
                return self.store_unavailable_page(
                    "Sign-out is temporarily unavailable",
                    "You could not be signed out just now. Please sign out again in a few seconds.",
                );
            }
            Err(err) => {
                span.record("outcome", "store_error");
                tracing::warn!(error = %err, "session not removed from the store");
            }
        }
        if !at_platform {
            return WebResponse::Redirect {
                location: self.paths.after_logout.clone(),
                set_cookies,
            };
        }
        let location = self.scalekit.logout_url(&LogoutUrlOptions {
            id_token_hint,
            post_logout_redirect_uri: Some(format!(
                "{}{}",
                self.base_url_for(origin),
                self.paths.after_logout
            )),
            state: None,
        });
        WebResponse::Redirect {
            location,
            set_cookies,
        }
    }

    /// Ends a session found in `cookies` (for applications with their own
    /// logout), returning the cookies to clear.
    pub async fn end_session(
        &self,
        session: &Session,
        cookies: &RequestCookies<'_>,
    ) -> Result<Vec<String>, SessionError> {
        self.sessions.end(session, cookies).await
    }
}
