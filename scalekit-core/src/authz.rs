//! Authorization requirements over scopes, permissions and roles
//! (PROTOCOL.md §7) and their `403 insufficient_scope` answer.

use crate::claims::{AccessTokenClaims, ScopeSet, wildcard_grants};
use crate::outcome::{Challenge, ErrorOutcome};

/// Whether every value of a clause is needed, or any one of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Match {
    /// Every value is required (the default).
    All,
    /// One value is enough.
    Any,
}

/// What a clause checks its values against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantKind {
    /// The granted scope set (wildcards apply).
    Scope,
    /// The `permissions` claim (wildcards apply).
    Permission,
    /// The `roles` claim (exact match only).
    Role,
    /// A value is satisfied by a scope or by a permission.
    ScopeOrPermission,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Clause {
    kind: GrantKind,
    mode: Match,
    values: Vec<String>,
}

/// What a caller was granted: scopes, permissions and roles.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    /// Granted scopes.
    pub scopes: ScopeSet,
    /// Granted permissions.
    pub permissions: Vec<String>,
    /// Roles.
    pub roles: Vec<String>,
}

impl Grants {
    /// The grants of an access token.
    pub fn from_claims(claims: &AccessTokenClaims) -> Self {
        Grants {
            scopes: claims.scopes(),
            permissions: claims.permissions.clone(),
            roles: claims.roles.clone(),
        }
    }

    fn has(&self, kind: GrantKind, value: &str) -> bool {
        let permission = |v: &str| {
            self.permissions
                .iter()
                .any(|p| p == v || wildcard_grants(p, v))
        };
        match kind {
            GrantKind::Scope => self.scopes.grants(value),
            GrantKind::Permission => permission(value),
            GrantKind::Role => self.roles.iter().any(|r| r == value),
            GrantKind::ScopeOrPermission => self.scopes.grants(value) || permission(value),
        }
    }
}

/// A requirement: clauses that must all hold, each over scopes, permissions
/// or roles, all-of or any-of.
///
/// ```
/// use scalekit_core::authz::{Grants, Requirement};
/// use scalekit_core::ScopeSet;
///
/// let need = Requirement::scopes_all(["projects:read"]).and(Requirement::roles_any(["admin", "owner"]));
/// let grants = Grants {
///     scopes: ScopeSet::from_iter(["projects:*"]),
///     permissions: vec![],
///     roles: vec!["owner".into()],
/// };
/// assert!(need.check(&grants).is_ok());
///
/// let err = Requirement::scopes_all(["billing:write"]).check(&grants).unwrap_err();
/// assert_eq!(err.required(), "billing:write");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Requirement {
    clauses: Vec<Clause>,
}

macro_rules! constructors {
    ($($(#[$doc:meta])* $name:ident => $kind:expr, $mode:expr;)*) => {
        $(
            $(#[$doc])*
            pub fn $name<I, S>(values: I) -> Self
            where
                I: IntoIterator<Item = S>,
                S: Into<String>,
            {
                Self::clause($kind, $mode, values)
            }
        )*
    };
}

impl Requirement {
    /// A requirement that everything satisfies.
    pub fn none() -> Self {
        Requirement::default()
    }

    /// One clause over `kind`, or an error when it names no value (an empty
    /// or blank value counts as none): a requirement of nothing would grant
    /// everything.
    ///
    /// ```
    /// use scalekit_core::authz::{EmptyRequirement, GrantKind, Match, Requirement};
    ///
    /// assert!(Requirement::try_clause(GrantKind::Scope, Match::Any, ["read"]).is_ok());
    /// assert_eq!(
    ///     Requirement::try_clause(GrantKind::Scope, Match::Any, Vec::<String>::new()),
    ///     Err(EmptyRequirement)
    /// );
    /// ```
    pub fn try_clause<I, S>(
        kind: GrantKind,
        mode: Match,
        values: I,
    ) -> Result<Self, EmptyRequirement>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let values: Vec<String> = values.into_iter().map(Into::into).collect();
        if values.is_empty() || values.iter().any(|v| v.trim().is_empty()) {
            return Err(EmptyRequirement);
        }
        Ok(Requirement {
            clauses: vec![Clause { kind, mode, values }],
        })
    }

    /// One clause over `kind`. A clause that names no value is a
    /// configuration error (see [`Requirement::try_clause`]): it is logged
    /// and the requirement is never satisfied, so that a mistake denies
    /// access rather than granting it.
    ///
    /// ```
    /// use scalekit_core::authz::{Grants, Requirement};
    ///
    /// let empty = Requirement::scopes_any(Vec::<String>::new());
    /// assert!(empty.check(&Grants::default()).is_err());
    /// ```
    pub fn clause<I, S>(kind: GrantKind, mode: Match, values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self::try_clause(kind, mode, values).unwrap_or_else(|_| {
            tracing::error!(
                "a scope, permission or role requirement names no value: it denies every request"
            );
            Requirement {
                clauses: vec![Clause {
                    kind,
                    mode: Match::Any,
                    values: Vec::new(),
                }],
            }
        })
    }

    constructors! {
        /// Every one of these scopes.
        scopes_all => GrantKind::Scope, Match::All;
        /// At least one of these scopes.
        scopes_any => GrantKind::Scope, Match::Any;
        /// Every one of these permissions.
        permissions_all => GrantKind::Permission, Match::All;
        /// At least one of these permissions.
        permissions_any => GrantKind::Permission, Match::Any;
        /// Every one of these roles.
        roles_all => GrantKind::Role, Match::All;
        /// At least one of these roles.
        roles_any => GrantKind::Role, Match::Any;
    }

    /// This requirement and `other`, both.
    pub fn and(mut self, other: Requirement) -> Self {
        self.clauses.extend(other.clauses);
        self
    }

    /// Checks the grants against every clause.
    pub fn check(&self, grants: &Grants) -> Result<(), Insufficient> {
        self.check_by(|kind, value| grants.has(kind, value))
            .map_err(|missing| {
                missing.worded(grants.scopes.is_empty(), grants.permissions.is_empty())
            })
    }

    /// Checks every clause with `has` telling whether one value of a kind
    /// is granted.
    fn check_by(&self, has: impl Fn(GrantKind, &str) -> bool) -> Result<(), Insufficient> {
        for clause in &self.clauses {
            let ok = match clause.mode {
                // An empty clause (a configuration error) is never met.
                Match::All => {
                    !clause.values.is_empty() && clause.values.iter().all(|v| has(clause.kind, v))
                }
                Match::Any => clause.values.iter().any(|v| has(clause.kind, v)),
            };
            if !ok {
                return Err(Insufficient {
                    required: clause.values.join(" "),
                    kind: clause.kind,
                });
            }
        }
        Ok(())
    }

    /// Checks the grants of an access token, straight from its claims
    /// (nothing copied: the check of every guarded request).
    pub fn check_claims(&self, claims: &AccessTokenClaims) -> Result<(), Insufficient> {
        let scope = |value: &str| {
            claims
                .granted_scopes()
                .any(|g| g == value || wildcard_grants(g, value))
        };
        let permission = |value: &str| {
            claims
                .permissions
                .iter()
                .any(|p| !p.is_empty() && (p == value || wildcard_grants(p, value)))
        };
        self.check_by(|kind, value| match kind {
            GrantKind::Scope => scope(value),
            GrantKind::Permission => permission(value),
            GrantKind::Role => claims.roles.iter().any(|r| r == value),
            GrantKind::ScopeOrPermission => scope(value) || permission(value),
        })
        .map_err(|missing| {
            missing.worded(claims.scopes().is_empty(), claims.permissions.is_empty())
        })
    }
}

/// A requirement clause named no value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a requirement must name at least one non-empty scope, permission or role")]
pub struct EmptyRequirement;

/// A requirement was not met.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("insufficient scope: requires {required}")]
pub struct Insufficient {
    required: String,
    kind: GrantKind,
}

impl Insufficient {
    /// The values of the clause that failed, space-separated (the `scope`
    /// parameter of the challenge).
    pub fn required(&self) -> &str {
        &self.required
    }

    /// The `403 insufficient_scope` answer.
    ///
    /// ```
    /// use scalekit_core::authz::{Grants, Requirement};
    /// use scalekit_core::outcome::Challenge;
    ///
    /// let err = Requirement::scopes_all(["admin:read"]).check(&Grants::default()).unwrap_err();
    /// let outcome = err.outcome(&Challenge::new("api"));
    /// assert_eq!(outcome.status, 403);
    /// assert!(outcome.header("www-authenticate").unwrap().ends_with(r#"scope="admin:read""#));
    /// ```
    pub fn outcome(&self, challenge: &Challenge) -> ErrorOutcome {
        let description = match self.kind {
            GrantKind::Scope => "The access token lacks a required scope.",
            GrantKind::Permission => "Your access does not include a required permission.",
            GrantKind::Role => "Your access does not include a required role.",
            GrantKind::ScopeOrPermission => {
                "The access token lacks a required scope or permission."
            }
        };
        ErrorOutcome::insufficient(challenge, &self.required, description)
    }

    /// A scope-or-permission clause said the way the caller is granted
    /// access: a user's token carries permissions (no scope), a client's
    /// scopes (no permission).
    fn worded(mut self, no_scopes: bool, no_permissions: bool) -> Self {
        if self.kind == GrantKind::ScopeOrPermission {
            if no_scopes {
                self.kind = GrantKind::Permission;
            } else if no_permissions {
                self.kind = GrantKind::Scope;
            }
        }
        self
    }

    /// What the failed clause checked: scopes, permissions or roles.
    pub fn kind(&self) -> GrantKind {
        self.kind
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grants() -> Grants {
        Grants {
            scopes: ScopeSet::from_iter(["read", "org:users:*"]),
            permissions: vec!["admin:*".into(), "billing:read".into()],
            roles: vec!["member".into()],
        }
    }

    #[test]
    fn all_and_any() {
        let g = grants();
        assert!(
            Requirement::scopes_all(["read", "org:users:write"])
                .check(&g)
                .is_ok()
        );
        assert!(
            Requirement::scopes_all(["read", "write"])
                .check(&g)
                .is_err()
        );
        assert!(Requirement::scopes_any(["write", "read"]).check(&g).is_ok());
        assert!(
            Requirement::scopes_any(["write", "delete"])
                .check(&g)
                .is_err()
        );
    }

    #[test]
    fn permissions_take_wildcards_roles_do_not() {
        let g = grants();
        assert!(
            Requirement::permissions_all(["admin:read"])
                .check(&g)
                .is_ok()
        );
        assert!(
            Requirement::permissions_all(["billing:write"])
                .check(&g)
                .is_err()
        );
        assert!(Requirement::roles_any(["member"]).check(&g).is_ok());
        let wildcard_role = Grants {
            roles: vec!["*".into()],
            ..Grants::default()
        };
        assert!(
            Requirement::roles_all(["admin"])
                .check(&wildcard_role)
                .is_err()
        );
    }

    #[test]
    fn scope_or_permission() {
        let req = Requirement::clause(GrantKind::ScopeOrPermission, Match::All, ["admin:read"]);
        assert!(req.check(&grants()).is_ok());
        let scoped = Grants {
            scopes: ScopeSet::from_iter(["admin:read"]),
            ..Grants::default()
        };
        assert!(req.check(&scoped).is_ok());
        assert_eq!(
            req.check(&Grants::default()).unwrap_err().required(),
            "admin:read"
        );
    }

    #[test]
    fn empty_requirements_deny() {
        let g = grants();
        for req in [
            Requirement::scopes_any(Vec::<String>::new()),
            Requirement::scopes_all(Vec::<String>::new()),
            Requirement::roles_any([""]),
            Requirement::permissions_all([" "]),
        ] {
            assert!(req.check(&g).is_err(), "{req:?}");
        }
        assert_eq!(
            Requirement::try_clause(GrantKind::Role, Match::All, [""]),
            Err(EmptyRequirement)
        );
    }

    #[test]
    fn failing_clause_is_reported() {
        let req = Requirement::scopes_all(["read"]).and(Requirement::roles_all(["owner", "admin"]));
        assert_eq!(req.check(&grants()).unwrap_err().required(), "owner admin");
    }

    #[test]
    fn a_refusal_says_whether_a_scope_a_permission_or_a_role_was_missing() {
        let challenge = crate::outcome::Challenge::new("api");
        let g = grants();
        let described = |requirement: Requirement| {
            requirement
                .check(&g)
                .unwrap_err()
                .outcome(&challenge)
                .body
                .error_description
        };
        assert!(described(Requirement::scopes_all(["write"])).contains("scope"));
        assert!(described(Requirement::permissions_all(["users:write"])).contains("permission"));
        assert!(described(Requirement::roles_any(["admin"])).contains("role"));
        // Scope or permission: said the way the caller is granted access.
        let either = Requirement::clause(GrantKind::ScopeOrPermission, Match::All, ["admin:read"]);
        let user = AccessTokenClaims {
            permissions: vec!["users:read".into()],
            ..Default::default()
        };
        let client = AccessTokenClaims {
            scope: Some("read".into()),
            ..Default::default()
        };
        let said = |claims: &AccessTokenClaims| {
            either
                .check_claims(claims)
                .unwrap_err()
                .outcome(&challenge)
                .body
                .error_description
        };
        assert!(said(&user).contains("permission") && !said(&user).contains("scope"));
        assert!(said(&client).contains("scope") && !said(&client).contains("permission"));
    }
}
