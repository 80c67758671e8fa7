//! Sessions: get one, list a user's, revoke one, revoke all of a user's
//! (the SDK's `client.session`).

use futures_util::Stream;
use reqwest::Method;
use serde::{Deserialize, Serialize};

use crate::client::{decode, decode_wrapped, segment};
use crate::pagination::{Page, PageOptions, count_of, decode_page, page_request, page_stream};

page_request!(UserSessionsOptions);
use crate::{ManagementClient, ManagementError};

/// A user's session.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Session {
    /// The platform's identifier (`ses_…`).
    pub session_id: String,
    /// Whose it is.
    pub user_id: String,
    /// The organization it is signed in to.
    pub organization_id: Option<String>,
    /// Every organization it has signed in to.
    pub authenticated_organizations: Vec<String>,
    /// `active`, `expired`, `revoked` or `logout`.
    pub status: String,
    /// When it began (RFC 3339).
    pub created_at: Option<String>,
    /// When it was last used (RFC 3339).
    pub last_active_at: Option<String>,
    /// When it ends if unused (RFC 3339).
    pub idle_expires_at: Option<String>,
    /// When it ends regardless (RFC 3339).
    pub absolute_expires_at: Option<String>,
    /// When it expired, if it did (RFC 3339).
    pub expired_at: Option<String>,
    /// When the user logged out, if they did (RFC 3339).
    pub logout_at: Option<String>,
}

/// What revoking a user's sessions answered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RevokedSessions {
    /// The sessions revoked.
    pub revoked_sessions: Vec<Session>,
    /// How many were revoked.
    pub total_revoked: u64,
}

/// Which of a user's sessions to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserSessionsOptions {
    /// Items per page.
    pub page_size: Option<u32>,
    /// The `next_page_token` of the page before.
    pub page_token: Option<String>,
    /// Only sessions of these statuses (`active`, `expired`, `revoked`,
    /// `logout`).
    pub status: Vec<String>,
}

/// The session operations: `client.sessions()`.
#[derive(Debug, Clone, Copy)]
pub struct Sessions<'a> {
    pub(crate) client: &'a ManagementClient,
}

fn session_path(id: &str) -> Result<String, ManagementError> {
    Ok(format!("/api/v1/sessions/{}", segment(id, "session id")?))
}

fn user_sessions_path(user_id: &str) -> Result<String, ManagementError> {
    Ok(format!(
        "/api/v1/users/{}/sessions",
        segment(user_id, "user id")?
    ))
}

impl Sessions<'_> {
    /// A session (the SDK's `getSession`).
    pub async fn get_session(&self, session_id: &str) -> Result<Session, ManagementError> {
        let bytes = self
            .client
            .call(Method::GET, &session_path(session_id)?, &[], None)
            .await?;
        decode_wrapped(&bytes, "session")
    }

    /// One page of a user's sessions (the SDK's `getUserSessions`).
    pub async fn get_user_sessions(
        &self,
        user_id: &str,
        options: &UserSessionsOptions,
    ) -> Result<Page<Session>, ManagementError> {
        let path = user_sessions_path(user_id)?;
        let mut query = Vec::new();
        PageOptions {
            page_size: options.page_size,
            page_token: options.page_token.clone(),
        }
        .push_query(&mut query);
        for status in options.status.iter().filter(|s| !s.is_empty()) {
            query.push(("filter.status", status.clone()));
        }
        let bytes = self.client.call(Method::GET, &path, &query, None).await?;
        decode_page(&bytes, "sessions")
    }

    /// Every session of a user, page after page.
    pub fn get_user_sessions_stream(
        &self,
        user_id: &str,
        options: UserSessionsOptions,
    ) -> impl Stream<Item = Result<Session, ManagementError>> + Send + 'static {
        let user_id = user_id.to_owned();
        page_stream(self.client, options, move |client, options| {
            let user_id = user_id.clone();
            async move {
                client
                    .sessions()
                    .get_user_sessions(&user_id, &options)
                    .await
            }
        })
    }

    /// Ends a session at once (the SDK's `revokeSession`); answers it.
    pub async fn revoke_session(&self, session_id: &str) -> Result<Session, ManagementError> {
        let path = format!("{}/revoke", session_path(session_id)?);
        let bytes = self
            .client
            .call_json(Method::POST, &path, &[], &serde_json::json!({}))
            .await?;
        decode_wrapped(&bytes, "revoked_session")
    }

    /// Ends every active session of a user (the SDK's
    /// `revokeAllUserSessions`).
    pub async fn revoke_all_user_sessions(
        &self,
        user_id: &str,
    ) -> Result<RevokedSessions, ManagementError> {
        let path = format!("{}/revoke", user_sessions_path(user_id)?);
        let bytes = self
            .client
            .call_json(Method::POST, &path, &[], &serde_json::json!({}))
            .await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(RevokedSessions::default());
        }
        let value: serde_json::Value = decode(&bytes)?;
        let page: Page<Session> = decode_page(&bytes, "revoked_sessions")?;
        let total_revoked = count_of(value.get("total_revoked"))
            .unwrap_or(u64::try_from(page.items.len()).unwrap_or(u64::MAX));
        Ok(RevokedSessions {
            revoked_sessions: page.items,
            total_revoked,
        })
    }
}

impl ManagementClient {
    /// The session operations.
    pub fn sessions(&self) -> Sessions<'_> {
        Sessions { client: self }
    }
}
