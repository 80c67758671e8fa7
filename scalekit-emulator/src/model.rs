//! The environment's organizations, users and sessions: the model that the
//! hosted sign-in page, the MCP servers' sign-in page and the management
//! API read and change.

use std::sync::Mutex;

use crate::{ids, lock, now};

/// A user of the emulated environment, listed on the sign-in page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedUser {
    /// User id (`usr_…`).
    pub id: String,
    /// Email address (the login hint).
    pub email: String,
    /// Given name.
    pub given_name: String,
    /// Family name.
    pub family_name: String,
    /// Organization id.
    pub organization_id: String,
    /// Roles in the organization.
    pub roles: Vec<String>,
    /// Permissions.
    pub permissions: Vec<String>,
}

/// An organization of the emulated environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organization {
    /// Organization id (`org_…`).
    pub id: String,
    /// Display name.
    pub name: String,
    /// Email domain (`domain_hint`).
    pub domain: String,
    /// Its SSO connection (`conn_…`).
    pub connection_id: String,
}

/// A signed-in session: created by a code exchange, ended by logout or
/// revocation (which also revokes its refresh tokens).
#[derive(Debug, Clone)]
pub(crate) struct SessionRecord {
    pub(crate) id: String,
    pub(crate) user_id: String,
    pub(crate) organization_id: String,
    pub(crate) created_at: u64,
    pub(crate) last_active_at: u64,
    /// `active`, `revoked` or `logout`.
    pub(crate) status: &'static str,
    /// When it was revoked.
    pub(crate) expired_at: Option<u64>,
    /// When the user logged out.
    pub(crate) logout_at: Option<u64>,
}

/// The organizations, the users of the sign-in page and their sessions.
pub(crate) struct Model {
    /// The first seeded user, as seeded.
    first: SeedUser,
    users: Mutex<Vec<SeedUser>>,
    sessions: Mutex<Vec<SessionRecord>>,
    organizations: Mutex<Vec<Organization>>,
}

impl Model {
    /// The seeds: Acme (`first_org`) with Ada, and Globex with Grace.
    pub(crate) fn new(first_org: &str) -> Self {
        let acme = Organization {
            id: first_org.to_owned(),
            name: "Acme".into(),
            domain: "example.com".into(),
            connection_id: ids::id("conn"),
        };
        let globex = Organization {
            id: ids::id("org"),
            name: "Globex".into(),
            domain: "globex.example".into(),
            connection_id: ids::id("conn"),
        };
        let ada = SeedUser {
            id: ids::id("usr"),
            email: "ada@example.com".into(),
            given_name: "Ada".into(),
            family_name: "Lovelace".into(),
            organization_id: acme.id.clone(),
            roles: vec!["admin".into()],
            permissions: vec!["admin:read".into(), "projects:read".into()],
        };
        let grace = SeedUser {
            id: ids::id("usr"),
            email: "grace@globex.example".into(),
            given_name: "Grace".into(),
            family_name: "Hopper".into(),
            organization_id: globex.id.clone(),
            roles: vec!["member".into()],
            permissions: vec!["projects:read".into()],
        };
        let users = vec![ada.clone(), grace];
        Model {
            first: ada,
            users: Mutex::new(users),
            sessions: Mutex::new(Vec::new()),
            organizations: Mutex::new(vec![acme, globex]),
        }
    }

    /// The first seeded user as they are now (as seeded if the management
    /// API deleted them).
    pub(crate) fn first_user(&self) -> SeedUser {
        lock(&self.users)
            .iter()
            .find(|u| u.id == self.first.id)
            .cloned()
            .unwrap_or_else(|| self.first.clone())
    }

    pub(crate) fn users(&self) -> Vec<SeedUser> {
        lock(&self.users).clone()
    }

    pub(crate) fn organizations(&self) -> Vec<Organization> {
        lock(&self.organizations).clone()
    }

    pub(crate) fn add_user(&self, user: SeedUser) {
        lock(&self.users).push(user);
    }

    /// Changes the user `id`; false when there is none.
    pub(crate) fn update_user(&self, id: &str, change: impl FnOnce(&mut SeedUser)) -> bool {
        match lock(&self.users).iter_mut().find(|u| u.id == id) {
            Some(user) => {
                change(user);
                true
            }
            None => false,
        }
    }

    /// Removes the user `id` from the sign-in page (`State::remove_user`
    /// also ends their sessions).
    pub(crate) fn remove_user(&self, id: &str) -> Option<SeedUser> {
        let mut users = lock(&self.users);
        let index = users.iter().position(|u| u.id == id)?;
        Some(users.remove(index))
    }

    pub(crate) fn add_organization(&self, organization: Organization) {
        lock(&self.organizations).push(organization);
    }

    /// Changes the organization `id`; false when there is none.
    pub(crate) fn update_organization(
        &self,
        id: &str,
        change: impl FnOnce(&mut Organization),
    ) -> bool {
        match lock(&self.organizations).iter_mut().find(|o| o.id == id) {
            Some(organization) => {
                change(organization);
                true
            }
            None => false,
        }
    }

    pub(crate) fn remove_organization(&self, id: &str) -> Option<Organization> {
        let mut organizations = lock(&self.organizations);
        let index = organizations.iter().position(|o| o.id == id)?;
        Some(organizations.remove(index))
    }

    /// Records a session that signed `user` in.
    pub(crate) fn record_session(&self, sid: &str, user: &SeedUser) {
        let now = now();
        lock(&self.sessions).push(SessionRecord {
            id: sid.to_owned(),
            user_id: user.id.clone(),
            organization_id: user.organization_id.clone(),
            created_at: now,
            last_active_at: now,
            status: "active",
            expired_at: None,
            logout_at: None,
        });
    }

    /// Marks session `sid` active now.
    pub(crate) fn touch_session(&self, sid: &str) {
        if let Some(session) = lock(&self.sessions).iter_mut().find(|s| s.id == sid) {
            session.last_active_at = now();
        }
    }

    /// The session `id`.
    pub(crate) fn session(&self, id: &str) -> Option<SessionRecord> {
        lock(&self.sessions).iter().find(|s| s.id == id).cloned()
    }

    /// The sessions of user `user_id`, oldest first.
    pub(crate) fn sessions_of(&self, user_id: &str) -> Vec<SessionRecord> {
        lock(&self.sessions)
            .iter()
            .filter(|s| s.user_id == user_id)
            .cloned()
            .collect()
    }

    /// Revokes session `id` if it is active (`State::revoke_session` also
    /// revokes its refresh tokens). The session as it is afterwards, or
    /// `None` if unknown.
    pub(crate) fn revoke_session(&self, id: &str) -> Option<SessionRecord> {
        let mut sessions = lock(&self.sessions);
        let session = sessions.iter_mut().find(|s| s.id == id)?;
        if session.status == "active" {
            session.status = "revoked";
            session.expired_at = Some(now());
        }
        Some(session.clone())
    }

    /// Revokes every active session of `user_id` and returns them.
    pub(crate) fn revoke_user_sessions(&self, user_id: &str) -> Vec<SessionRecord> {
        let mut sessions = lock(&self.sessions);
        let now = now();
        sessions
            .iter_mut()
            .filter(|s| s.user_id == user_id && s.status == "active")
            .map(|s| {
                s.status = "revoked";
                s.expired_at = Some(now);
                s.clone()
            })
            .collect()
    }

    /// Ends session `sid` by logout if it is active.
    pub(crate) fn end_session_by_logout(&self, sid: &str) {
        if let Some(session) = lock(&self.sessions)
            .iter_mut()
            .find(|s| s.id == sid && s.status == "active")
        {
            session.status = "logout";
            session.logout_at = Some(now());
        }
    }

    /// The connection `user` signs in through: their organization's.
    pub(crate) fn connection_of(&self, user: &SeedUser) -> Option<String> {
        self.organization(&user.organization_id)
            .map(|o| o.connection_id)
    }

    pub(crate) fn user_by_email(&self, email: &str) -> Option<SeedUser> {
        lock(&self.users)
            .iter()
            .find(|u| u.email.eq_ignore_ascii_case(email))
            .cloned()
    }

    pub(crate) fn organization(&self, id: &str) -> Option<Organization> {
        lock(&self.organizations)
            .iter()
            .find(|o| o.id == id)
            .cloned()
    }
}
