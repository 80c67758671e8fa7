//! Roles and permissions: the environment's roles (`/api/v1/roles`), each
//! organization's own (`/api/v1/organizations/{org_id}/roles`), the
//! environment's permissions (`/api/v1/permissions`) and what roles grant.
//!
//! A role grants its own permissions and, through `extends`, every
//! permission of its base role, transitively (the effective set,
//! `permissions:all`); an `extends` that would make a cycle is refused. An
//! organization sees the environment's roles and its own; a role name is
//! unique among the roles an organization sees. Members get the effective
//! permissions of their membership's roles in their access tokens, as of
//! their sign-in or refresh. A role another role extends cannot be
//! deleted; deleting a role moves its members to the reassignment role,
//! which must be named while members hold it. The default member
//! role (`member` unless changed, per organization or for the
//! environment) is what a new membership gets when it names no role.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, State as AxumState};
use serde_json::{Map, Value, json};

use super::users::{find_user, sync_user};
use super::{
    ApiError, ApiResult, Pairs, Shared, Store, body_object, created, find_organization, ok,
    opt_str, paginate, query,
};
use crate::webhooks::rfc3339;
use crate::{State, ids, now};

/// Longest role or permission name.
const MAX_NAME: usize = 64;

/// A role: the environment's (`organization_id` none) or an
/// organization's.
#[derive(Debug, Clone)]
pub(crate) struct RoleRecord {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) display_name: String,
    description: String,
    /// The base role whose permissions this one inherits.
    extends: Option<String>,
    /// Its own permissions, in the order given.
    permissions: Vec<String>,
    organization_id: Option<String>,
    create_time: u64,
    update_time: u64,
}

/// A permission of the environment.
#[derive(Debug, Clone)]
struct PermissionRecord {
    id: String,
    name: String,
    description: String,
    create_time: u64,
    update_time: u64,
}

/// The roles, permissions and default roles of the environment.
pub(crate) struct Rbac {
    roles: Vec<RoleRecord>,
    permissions: Vec<PermissionRecord>,
    default_member: String,
    default_creator: String,
    /// Organizations' own default member role.
    organization_default_member: HashMap<String, String>,
}

impl Default for Rbac {
    /// The environment's `admin` and `member` roles and the permissions the
    /// seeded users hold.
    fn default() -> Self {
        let at = now();
        let permission = |name: &str, description: &str| PermissionRecord {
            id: ids::id("perm"),
            name: name.to_owned(),
            description: description.to_owned(),
            create_time: at,
            update_time: at,
        };
        let role =
            |name: &str, display: &str, description: &str, permissions: &[&str]| RoleRecord {
                id: ids::id("role"),
                name: name.to_owned(),
                display_name: display.to_owned(),
                description: description.to_owned(),
                extends: None,
                permissions: permissions.iter().map(|p| (*p).to_owned()).collect(),
                organization_id: None,
                create_time: at,
                update_time: at,
            };
        Rbac {
            roles: vec![
                role(
                    "admin",
                    "Admin",
                    "Manages the organization",
                    &["admin:read", "projects:read"],
                ),
                role("member", "Member", "A member", &["projects:read"]),
            ],
            permissions: vec![
                permission("admin:read", "Reads the organization's administration"),
                permission("projects:read", "Reads projects"),
            ],
            default_member: "member".into(),
            default_creator: "admin".into(),
            organization_default_member: HashMap::new(),
        }
    }
}

impl Rbac {
    /// The role `name` as organization `organization_id` sees it (its own,
    /// else the environment's); `""` for the environment alone.
    pub(super) fn find(&self, organization_id: &str, name: &str) -> Option<&RoleRecord> {
        self.roles
            .iter()
            .find(|r| {
                r.name == name
                    && !organization_id.is_empty()
                    && r.organization_id.as_deref() == Some(organization_id)
            })
            .or_else(|| {
                self.roles
                    .iter()
                    .find(|r| r.name == name && r.organization_id.is_none())
            })
    }

    fn find_in(&self, scope: Option<&str>, name: &str) -> Option<&RoleRecord> {
        self.roles
            .iter()
            .find(|r| r.name == name && r.organization_id.as_deref() == scope)
    }

    fn find_in_mut(&mut self, scope: Option<&str>, name: &str) -> Option<&mut RoleRecord> {
        self.roles
            .iter_mut()
            .find(|r| r.name == name && r.organization_id.as_deref() == scope)
    }

    /// The roles an organization sees: the environment's, then its own.
    fn visible(&self, organization_id: &str) -> Vec<&RoleRecord> {
        self.roles
            .iter()
            .filter(|r| r.organization_id.is_none())
            .chain(
                self.roles
                    .iter()
                    .filter(|r| r.organization_id.as_deref() == Some(organization_id)),
            )
            .collect()
    }

    /// The effective permissions of `roles` in an organization: each
    /// role's own, then its base's, transitively (a role it does not see
    /// grants none), without repeats.
    pub(super) fn effective_permissions(
        &self,
        organization_id: &str,
        roles: &[String],
    ) -> Vec<String> {
        let mut permissions: Vec<String> = Vec::new();
        for name in roles {
            for p in self.chain_permissions(organization_id, name) {
                if !permissions.contains(&p) {
                    permissions.push(p);
                }
            }
        }
        permissions
    }

    /// The permissions of role `name` and of the roles it extends.
    fn chain_permissions(&self, organization_id: &str, name: &str) -> Vec<String> {
        let mut permissions: Vec<String> = Vec::new();
        let mut seen: Vec<&str> = Vec::new();
        let mut next = self.find(organization_id, name);
        while let Some(role) = next {
            if seen.contains(&role.id.as_str()) {
                break;
            }
            seen.push(&role.id);
            for p in &role.permissions {
                if !permissions.contains(p) {
                    permissions.push(p.clone());
                }
            }
            next = role
                .extends
                .as_deref()
                .and_then(|base| self.find(organization_id, base));
        }
        permissions
    }

    /// Whether role `name` (in `organization_id`'s view) extending `base`
    /// would make a cycle.
    fn would_cycle(&self, organization_id: &str, name: &str, base: &str) -> bool {
        let mut seen: Vec<&str> = Vec::new();
        let mut next = self.find(organization_id, base);
        while let Some(role) = next {
            if role.name == name {
                return true;
            }
            if seen.contains(&role.id.as_str()) {
                return false;
            }
            seen.push(&role.id);
            next = role
                .extends
                .as_deref()
                .and_then(|b| self.find(organization_id, b));
        }
        false
    }

    /// The roles that extend role `name` of `scope`: for an environment
    /// role, every role whose base is it; for an organization's, that
    /// organization's roles.
    fn dependents(&self, scope: Option<&str>, name: &str) -> Vec<&RoleRecord> {
        self.roles
            .iter()
            .filter(|r| r.extends.as_deref() == Some(name))
            .filter(|r| match scope {
                None => r
                    .organization_id
                    .as_deref()
                    .is_none_or(|o| self.find_in(Some(o), name).is_none()),
                Some(org) => r.organization_id.as_deref() == Some(org),
            })
            .collect()
    }

    /// The default member role of an organization.
    pub(super) fn default_member_of(&self, organization_id: &str) -> String {
        self.organization_default_member
            .get(organization_id)
            .cloned()
            .unwrap_or_else(|| self.default_member.clone())
    }

    /// Defines the permissions a role names that the environment does not
    /// have yet.
    fn define_permissions(&mut self, names: &[String]) {
        let at = now();
        for name in names {
            if !self.permissions.iter().any(|p| &p.name == name) {
                self.permissions.push(PermissionRecord {
                    id: ids::id("perm"),
                    name: name.clone(),
                    description: String::new(),
                    create_time: at,
                    update_time: at,
                });
            }
        }
    }

    fn permission(&self, name: &str) -> Option<&PermissionRecord> {
        self.permissions.iter().find(|p| p.name == name)
    }

    /// Forgets a deleted organization's roles and default.
    pub(super) fn forget_organization(&mut self, organization_id: &str) {
        self.roles
            .retain(|r| r.organization_id.as_deref() != Some(organization_id));
        self.organization_default_member.remove(organization_id);
    }
}

fn permission_view(p: &PermissionRecord) -> Value {
    json!({
        "id": p.id,
        "name": p.name,
        "description": p.description,
        "create_time": rfc3339(p.create_time),
        "update_time": rfc3339(p.update_time),
        "is_scalekit_permission": false,
    })
}

fn role_view(rbac: &Rbac, role: &RoleRecord) -> Value {
    let permissions: Vec<Value> = role
        .permissions
        .iter()
        .map(|name| {
            let p = rbac.permission(name);
            json!({
                "id": p.map(|p| p.id.clone()).unwrap_or_default(),
                "name": name,
                "description": p.map(|p| p.description.clone()).unwrap_or_default(),
                "role_name": role.name,
            })
        })
        .collect();
    let scope_org = role.organization_id.clone().unwrap_or_default();
    let default_member = match &role.organization_id {
        Some(org) => rbac.default_member_of(org) == role.name,
        None => rbac.default_member == role.name,
    };
    json!({
        "id": role.id,
        "name": role.name,
        "display_name": role.display_name,
        "description": role.description,
        "extends": role.extends.clone().unwrap_or_default(),
        "permissions": permissions,
        "dependent_roles_count": rbac.dependents(role.organization_id.as_deref(), &role.name).len(),
        "is_org_role": !scope_org.is_empty(),
        "default_member": default_member,
        "default_creator": role.organization_id.is_none() && rbac.default_creator == role.name,
        "create_time": rfc3339(role.create_time),
        "update_time": rfc3339(role.update_time),
    })
}

/// A role or permission name: non-blank, at most 64 characters, no spaces.
fn check_name(field: &str, name: &str) -> Result<(), ApiError> {
    if name.trim().is_empty() {
        return Err(ApiError::invalid(field, format!("{field} is required")));
    }
    if name.chars().count() > MAX_NAME || name.chars().any(char::is_whitespace) {
        return Err(ApiError::invalid(
            field,
            format!("{field} must be at most {MAX_NAME} characters without spaces"),
        ));
    }
    Ok(())
}

/// A list of permission names (`field`), each a valid name.
fn name_list(map: &Map<String, Value>, field: &str) -> Result<Option<Vec<String>>, ApiError> {
    let list = match map.get(field) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Array(list)) => list,
        Some(_) => {
            return Err(ApiError::invalid(
                field,
                format!("{field} must be a list of strings"),
            ));
        }
    };
    let mut names: Vec<String> = Vec::new();
    for (i, item) in list.iter().enumerate() {
        let name = item
            .as_str()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .ok_or_else(|| {
                ApiError::invalid(
                    format!("{field}[{i}]"),
                    "a permission is a non-empty string",
                )
            })?;
        check_name(&format!("{field}[{i}]"), name)?;
        if !names.iter().any(|n| n == name) {
            names.push(name.to_owned());
        }
    }
    Ok(Some(names))
}

/// Every user's sign-in view made to match the roles as they are now.
fn sync_everyone(state: &State, store: &mut Store) {
    for user in state.model.users() {
        store.user_extra(&user, state.management.started);
        sync_user(state, store, &user.id);
    }
}

/// The scope a request addresses: `None` for the environment, or the
/// organization (which must exist).
fn scope_of(state: &State, org: Option<&str>) -> Result<Option<String>, ApiError> {
    match org {
        None => Ok(None),
        Some(org) => Ok(Some(find_organization(state, org)?.id)),
    }
}

fn role_not_found() -> ApiError {
    ApiError::not_found("role")
}

// ---- roles, shared by the environment and organization routes ----

fn list_in(state: &State, scope: Option<String>) -> ApiResult {
    let store = state.management.store();
    let roles: Vec<Value> = match &scope {
        None => store
            .rbac
            .roles
            .iter()
            .filter(|r| r.organization_id.is_none())
            .map(|r| role_view(&store.rbac, r))
            .collect(),
        Some(org) => store
            .rbac
            .visible(org)
            .into_iter()
            .map(|r| role_view(&store.rbac, r))
            .collect(),
    };
    ok(json!({"roles": roles}))
}

fn create_in(state: &State, scope: Option<String>, body: &Bytes) -> ApiResult {
    let map = body_object(body)?;
    let name = opt_str(&map, "name")?
        .map(|n| n.trim().to_owned())
        .unwrap_or_default();
    check_name("name", &name)?;
    let display_name = opt_str(&map, "display_name")?
        .filter(|d| !d.trim().is_empty())
        .unwrap_or_else(|| name.clone());
    let description = opt_str(&map, "description")?.unwrap_or_default();
    let extends = opt_str(&map, "extends")?.filter(|e| !e.trim().is_empty());
    let permissions = name_list(&map, "permissions")?.unwrap_or_default();
    let mut store = state.management.store();
    let org = scope.clone().unwrap_or_default();
    let taken = match &scope {
        Some(org) => store.rbac.find(org, &name).is_some(),
        None => store.rbac.roles.iter().any(|r| r.name == name),
    };
    if taken {
        return Err(ApiError::already_exists(
            "name",
            "a role with this name exists",
        ));
    }
    if let Some(base) = &extends
        && store.rbac.find(&org, base).is_none()
    {
        return Err(ApiError::invalid(
            "extends",
            format!("the base role {base} does not exist"),
        ));
    }
    store.rbac.define_permissions(&permissions);
    let at = now();
    let role = RoleRecord {
        id: ids::id("role"),
        name,
        display_name,
        description,
        extends,
        permissions,
        organization_id: scope,
        create_time: at,
        update_time: at,
    };
    store.rbac.roles.push(role.clone());
    // Members may hold the name already (roles are names on memberships).
    sync_everyone(state, &mut store);
    created(json!({"role": role_view(&store.rbac, &role)}))
}

fn get_in(state: &State, scope: Option<String>, name: &str) -> ApiResult {
    let store = state.management.store();
    let role = store
        .rbac
        .find_in(scope.as_deref(), name)
        .ok_or_else(role_not_found)?;
    ok(json!({"role": role_view(&store.rbac, role)}))
}

fn update_in(state: &State, scope: Option<String>, name: &str, body: &Bytes) -> ApiResult {
    let map = body_object(body)?;
    let display_name = opt_str(&map, "display_name")?.filter(|d| !d.trim().is_empty());
    let description = opt_str(&map, "description")?;
    let extends = opt_str(&map, "extends")?.filter(|e| !e.trim().is_empty());
    let permissions = name_list(&map, "permissions")?;
    let mut store = state.management.store();
    let org = scope.clone().unwrap_or_default();
    if store.rbac.find_in(scope.as_deref(), name).is_none() {
        return Err(role_not_found());
    }
    if let Some(base) = &extends {
        if store.rbac.find(&org, base).is_none() {
            return Err(ApiError::invalid(
                "extends",
                format!("the base role {base} does not exist"),
            ));
        }
        if base == name || store.rbac.would_cycle(&org, name, base) {
            return Err(ApiError::invalid(
                "extends",
                format!("{name} extending {base} would make a cycle"),
            ));
        }
    }
    if let Some(permissions) = &permissions {
        store.rbac.define_permissions(permissions);
    }
    let role = {
        let role = store
            .rbac
            .find_in_mut(scope.as_deref(), name)
            .ok_or_else(role_not_found)?;
        if let Some(d) = display_name {
            role.display_name = d;
        }
        if let Some(d) = description {
            role.description = d;
        }
        if let Some(base) = extends {
            role.extends = Some(base);
        }
        if let Some(p) = permissions {
            role.permissions = p;
        }
        role.update_time = now();
        role.clone()
    };
    sync_everyone(state, &mut store);
    ok(json!({"role": role_view(&store.rbac, &role)}))
}

/// The organizations where role `name` of `scope` is the one members'
/// role name means.
fn applies_in(rbac: &Rbac, scope: Option<&str>, name: &str, organization_id: &str) -> bool {
    match scope {
        Some(org) => org == organization_id,
        None => rbac.find_in(Some(organization_id), name).is_none(),
    }
}

fn delete_in(
    state: &State,
    scope: Option<String>,
    name: &str,
    pairs: &[(String, String)],
) -> ApiResult {
    let mut store = state.management.store();
    let role = store
        .rbac
        .find_in(scope.as_deref(), name)
        .cloned()
        .ok_or_else(role_not_found)?;
    let dependents: Vec<String> = store
        .rbac
        .dependents(scope.as_deref(), name)
        .iter()
        .map(|r| r.name.clone())
        .collect();
    if !dependents.is_empty() {
        return Err(ApiError::failed_precondition(format!(
            "the role is extended by {}; change their base role first",
            dependents.join(", ")
        )));
    }
    let is_default = match &scope {
        None => {
            store.rbac.default_member == name
                || store.rbac.default_creator == name
                || store
                    .rbac
                    .organization_default_member
                    .values()
                    .any(|r| r == name)
        }
        Some(org) => {
            store
                .rbac
                .organization_default_member
                .get(org)
                .map(String::as_str)
                == Some(name)
        }
    };
    if is_default {
        return Err(ApiError::failed_precondition(
            "the role is a default role; make another role the default first",
        ));
    }
    // The reassignment role, by name or (environment roles) by id.
    let by_name = query(pairs, "reassign_role_name").filter(|r| !r.is_empty());
    let by_id = query(pairs, "reassign_role_id").filter(|r| !r.is_empty());
    let org = scope.clone().unwrap_or_default();
    let reassign = match (by_name, by_id) {
        (Some(n), _) => Some(
            store
                .rbac
                .find(&org, n)
                .filter(|r| r.name != name)
                .map(|r| r.name.clone())
                .ok_or_else(|| {
                    ApiError::invalid("reassign_role_name", "the reassignment role does not exist")
                })?,
        ),
        (None, Some(id)) => Some(
            store
                .rbac
                .roles
                .iter()
                .find(|r| r.id == id && r.name != name)
                .map(|r| r.name.clone())
                .ok_or_else(|| {
                    ApiError::invalid("reassign_role_id", "the reassignment role does not exist")
                })?,
        ),
        (None, None) => None,
    };
    for user in state.model.users() {
        store.user_extra(&user, state.management.started);
    }
    let rbac_view: Vec<(String, bool)> = {
        let orgs: Vec<String> = store
            .users
            .values()
            .flat_map(|e| e.memberships.iter().map(|m| m.organization_id.clone()))
            .collect();
        orgs.into_iter()
            .map(|o| {
                let applies = applies_in(&store.rbac, scope.as_deref(), name, &o);
                (o, applies)
            })
            .collect()
    };
    let holders = store
        .users
        .values()
        .filter(|e| {
            e.memberships.iter().any(|m| {
                rbac_view.iter().any(|(o, a)| *a && *o == m.organization_id)
                    && m.roles.iter().any(|r| r == name)
            })
        })
        .count();
    if holders > 0 && reassign.is_none() {
        return Err(ApiError::failed_precondition(format!(
            "{holders} users hold the role; name a reassign_role_name for them"
        )));
    }
    for extra in store.users.values_mut() {
        for m in &mut extra.memberships {
            let applies = rbac_view.iter().any(|(o, a)| *a && *o == m.organization_id);
            if !applies || !m.roles.iter().any(|r| r == name) {
                continue;
            }
            m.roles.retain(|r| r != name);
            if let Some(new) = &reassign
                && !m.roles.contains(new)
            {
                m.roles.push(new.clone());
            }
        }
    }
    store.rbac.roles.retain(|r| r.id != role.id);
    sync_everyone(state, &mut store);
    ok(json!({}))
}

fn users_count_in(state: &State, scope: Option<String>, name: &str) -> ApiResult {
    let mut store = state.management.store();
    if store.rbac.find_in(scope.as_deref(), name).is_none() {
        return Err(role_not_found());
    }
    for user in state.model.users() {
        store.user_extra(&user, state.management.started);
    }
    let count = store
        .users
        .values()
        .filter(|e| {
            e.memberships.iter().any(|m| {
                applies_in(&store.rbac, scope.as_deref(), name, &m.organization_id)
                    && m.roles.iter().any(|r| r == name)
            })
        })
        .count();
    ok(json!({"count": count.to_string()}))
}

fn delete_base_in(state: &State, scope: Option<String>, name: &str) -> ApiResult {
    let mut store = state.management.store();
    let role = store
        .rbac
        .find_in_mut(scope.as_deref(), name)
        .ok_or_else(role_not_found)?;
    role.extends = None;
    role.update_time = now();
    sync_everyone(state, &mut store);
    ok(json!({}))
}

// ---- environment roles ----

/// `GET /api/v1/roles`.
pub(super) async fn list_roles(AxumState(state): AxumState<Shared>) -> ApiResult {
    list_in(&state, None)
}

/// `POST /api/v1/roles`: `201 {"role": …}`.
pub(super) async fn create_role(AxumState(state): AxumState<Shared>, body: Bytes) -> ApiResult {
    create_in(&state, None, &body)
}

/// `GET /api/v1/roles/{role_name}`.
pub(super) async fn get_role(
    AxumState(state): AxumState<Shared>,
    Path(name): Path<String>,
) -> ApiResult {
    get_in(&state, None, &name)
}

/// `PUT /api/v1/roles/{role_name}`.
pub(super) async fn update_role(
    AxumState(state): AxumState<Shared>,
    Path(name): Path<String>,
    body: Bytes,
) -> ApiResult {
    update_in(&state, None, &name, &body)
}

/// `DELETE /api/v1/roles/{role_name}` (`reassign_role_name` or
/// `reassign_role_id`).
pub(super) async fn delete_role(
    AxumState(state): AxumState<Shared>,
    Path(name): Path<String>,
    Pairs(pairs): Pairs,
) -> ApiResult {
    delete_in(&state, None, &name, &pairs)
}

/// `GET /api/v1/roles/{role_name}/users:count`.
pub(super) async fn role_users_count(
    AxumState(state): AxumState<Shared>,
    Path(name): Path<String>,
) -> ApiResult {
    users_count_in(&state, None, &name)
}

/// `DELETE /api/v1/roles/{role_name}/base`: the role extends nothing.
pub(super) async fn delete_role_base(
    AxumState(state): AxumState<Shared>,
    Path(name): Path<String>,
) -> ApiResult {
    delete_base_in(&state, None, &name)
}

/// `GET /api/v1/roles/{role_name}/dependents`.
pub(super) async fn dependent_roles(
    AxumState(state): AxumState<Shared>,
    Path(name): Path<String>,
) -> ApiResult {
    let store = state.management.store();
    if store.rbac.find_in(None, &name).is_none() {
        return Err(role_not_found());
    }
    let roles: Vec<Value> = store
        .rbac
        .dependents(None, &name)
        .into_iter()
        .map(|r| role_view(&store.rbac, r))
        .collect();
    ok(json!({"roles": roles}))
}

/// `PATCH /api/v1/roles:set_defaults`: `default_member_role` and/or
/// `default_creator_role` (names of environment roles).
pub(super) async fn set_default_roles(
    AxumState(state): AxumState<Shared>,
    body: Bytes,
) -> ApiResult {
    let map = body_object(&body)?;
    let member = opt_str(&map, "default_member_role")?.filter(|r| !r.is_empty());
    let creator = opt_str(&map, "default_creator_role")?.filter(|r| !r.is_empty());
    let mut store = state.management.store();
    for (field, name) in [
        ("default_member_role", &member),
        ("default_creator_role", &creator),
    ] {
        if let Some(name) = name
            && store.rbac.find_in(None, name).is_none()
        {
            return Err(ApiError::invalid(
                field,
                format!("the role {name} does not exist"),
            ));
        }
    }
    if let Some(m) = member {
        store.rbac.default_member = m;
    }
    if let Some(c) = creator {
        store.rbac.default_creator = c;
    }
    let view = |name: &str| {
        store
            .rbac
            .find_in(None, name)
            .map_or(Value::Null, |r| role_view(&store.rbac, r))
    };
    ok(json!({
        "default_member": view(&store.rbac.default_member),
        "default_creator": view(&store.rbac.default_creator),
    }))
}

// ---- organization roles ----

/// `GET /api/v1/organizations/{org_id}/roles`: the environment's roles and
/// the organization's own.
pub(super) async fn list_organization_roles(
    AxumState(state): AxumState<Shared>,
    Path(org): Path<String>,
) -> ApiResult {
    let scope = scope_of(&state, Some(&org))?;
    list_in(&state, scope)
}

/// `POST /api/v1/organizations/{org_id}/roles`: `201 {"role": …}`.
pub(super) async fn create_organization_role(
    AxumState(state): AxumState<Shared>,
    Path(org): Path<String>,
    body: Bytes,
) -> ApiResult {
    let scope = scope_of(&state, Some(&org))?;
    create_in(&state, scope, &body)
}

/// `GET /api/v1/organizations/{org_id}/roles/{role_name}`.
pub(super) async fn get_organization_role(
    AxumState(state): AxumState<Shared>,
    Path((org, name)): Path<(String, String)>,
) -> ApiResult {
    let scope = scope_of(&state, Some(&org))?;
    get_in(&state, scope, &name)
}

/// `PUT /api/v1/organizations/{org_id}/roles/{role_name}`.
pub(super) async fn update_organization_role(
    AxumState(state): AxumState<Shared>,
    Path((org, name)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    let scope = scope_of(&state, Some(&org))?;
    update_in(&state, scope, &name, &body)
}

/// `DELETE /api/v1/organizations/{org_id}/roles/{role_name}`
/// (`reassign_role_name`).
pub(super) async fn delete_organization_role(
    AxumState(state): AxumState<Shared>,
    Path((org, name)): Path<(String, String)>,
    Pairs(pairs): Pairs,
) -> ApiResult {
    let scope = scope_of(&state, Some(&org))?;
    delete_in(&state, scope, &name, &pairs)
}

/// `GET /api/v1/organizations/{org_id}/roles/{role_name}/users:count`.
pub(super) async fn organization_role_users_count(
    AxumState(state): AxumState<Shared>,
    Path((org, name)): Path<(String, String)>,
) -> ApiResult {
    let scope = scope_of(&state, Some(&org))?;
    users_count_in(&state, scope, &name)
}

/// `DELETE /api/v1/organizations/{org_id}/roles/{role_name}/base`.
pub(super) async fn delete_organization_role_base(
    AxumState(state): AxumState<Shared>,
    Path((org, name)): Path<(String, String)>,
) -> ApiResult {
    let scope = scope_of(&state, Some(&org))?;
    delete_base_in(&state, scope, &name)
}

/// `PATCH /api/v1/organizations/{org_id}/roles:set_defaults`:
/// `default_member_role`, a role the organization sees.
pub(super) async fn set_default_organization_roles(
    AxumState(state): AxumState<Shared>,
    Path(org): Path<String>,
    body: Bytes,
) -> ApiResult {
    find_organization(&state, &org)?;
    let map = body_object(&body)?;
    let member = opt_str(&map, "default_member_role")?
        .filter(|r| !r.trim().is_empty())
        .ok_or_else(|| {
            ApiError::invalid("default_member_role", "default_member_role is required")
        })?;
    let mut store = state.management.store();
    let role = store.rbac.find(&org, &member).cloned().ok_or_else(|| {
        ApiError::invalid(
            "default_member_role",
            format!("the role {member} does not exist"),
        )
    })?;
    store
        .rbac
        .organization_default_member
        .insert(org.clone(), member);
    ok(json!({"default_member": role_view(&store.rbac, &role)}))
}

// ---- permissions ----

/// `GET /api/v1/permissions` (paged).
pub(super) async fn list_permissions(
    AxumState(state): AxumState<Shared>,
    Pairs(pairs): Pairs,
) -> ApiResult {
    let all: Vec<Value> = state
        .management
        .store()
        .rbac
        .permissions
        .iter()
        .map(permission_view)
        .collect();
    let page = paginate(all, &pairs, "permissions")?;
    ok(json!({
        "permissions": page.items,
        "next_page_token": page.next_page_token,
        "prev_page_token": page.prev_page_token,
        "total_size": page.total_size,
    }))
}

/// `POST /api/v1/permissions`: `201 {"permission": …}`.
pub(super) async fn create_permission(
    AxumState(state): AxumState<Shared>,
    body: Bytes,
) -> ApiResult {
    let map = body_object(&body)?;
    let name = opt_str(&map, "name")?
        .map(|n| n.trim().to_owned())
        .unwrap_or_default();
    check_name("name", &name)?;
    let description = opt_str(&map, "description")?.unwrap_or_default();
    let mut store = state.management.store();
    if store.rbac.permission(&name).is_some() {
        return Err(ApiError::already_exists(
            "name",
            "a permission with this name exists",
        ));
    }
    let at = now();
    let permission = PermissionRecord {
        id: ids::id("perm"),
        name,
        description,
        create_time: at,
        update_time: at,
    };
    store.rbac.permissions.push(permission.clone());
    created(json!({"permission": permission_view(&permission)}))
}

/// `GET /api/v1/permissions/{permission_name}`.
pub(super) async fn get_permission(
    AxumState(state): AxumState<Shared>,
    Path(name): Path<String>,
) -> ApiResult {
    let store = state.management.store();
    let p = store
        .rbac
        .permission(&name)
        .ok_or_else(|| ApiError::not_found("permission"))?;
    ok(json!({"permission": permission_view(p)}))
}

/// `PUT /api/v1/permissions/{permission_name}`: its description (the name
/// cannot change).
pub(super) async fn update_permission(
    AxumState(state): AxumState<Shared>,
    Path(name): Path<String>,
    body: Bytes,
) -> ApiResult {
    let map = body_object(&body)?;
    let new_name = opt_str(&map, "name")?.filter(|n| !n.is_empty());
    if new_name.is_some_and(|n| n != name) {
        return Err(ApiError::invalid(
            "name",
            "a permission's name cannot change",
        ));
    }
    let description = opt_str(&map, "description")?;
    let mut store = state.management.store();
    let p = store
        .rbac
        .permissions
        .iter_mut()
        .find(|p| p.name == name)
        .ok_or_else(|| ApiError::not_found("permission"))?;
    if let Some(d) = description {
        p.description = d;
    }
    p.update_time = now();
    ok(json!({"permission": permission_view(p)}))
}

/// `DELETE /api/v1/permissions/{permission_name}`: refused while a role
/// grants it.
pub(super) async fn delete_permission(
    AxumState(state): AxumState<Shared>,
    Path(name): Path<String>,
) -> ApiResult {
    let mut store = state.management.store();
    if store.rbac.permission(&name).is_none() {
        return Err(ApiError::not_found("permission"));
    }
    let holders: Vec<String> = store
        .rbac
        .roles
        .iter()
        .filter(|r| r.permissions.contains(&name))
        .map(|r| r.name.clone())
        .collect();
    if !holders.is_empty() {
        return Err(ApiError::failed_precondition(format!(
            "the permission is granted by {}; remove it from them first",
            holders.join(", ")
        )));
    }
    store.rbac.permissions.retain(|p| p.name != name);
    ok(json!({}))
}

fn permissions_view(rbac: &Rbac, names: &[String]) -> Vec<Value> {
    names
        .iter()
        .filter_map(|n| rbac.permission(n))
        .map(permission_view)
        .collect()
}

/// `GET /api/v1/roles/{role_name}/permissions`: the role's own.
pub(super) async fn role_permissions(
    AxumState(state): AxumState<Shared>,
    Path(name): Path<String>,
) -> ApiResult {
    let store = state.management.store();
    let role = store.rbac.find_in(None, &name).ok_or_else(role_not_found)?;
    ok(json!({"permissions": permissions_view(&store.rbac, &role.permissions)}))
}

/// `POST /api/v1/roles/{role_name}/permissions` (`permission_names`):
/// adds existing permissions; answers the role's own.
pub(super) async fn add_role_permissions(
    AxumState(state): AxumState<Shared>,
    Path(name): Path<String>,
    body: Bytes,
) -> ApiResult {
    let map = body_object(&body)?;
    let names = name_list(&map, "permission_names")?
        .filter(|n| !n.is_empty())
        .ok_or_else(|| ApiError::invalid("permission_names", "permission_names is required"))?;
    let mut store = state.management.store();
    if store.rbac.find_in(None, &name).is_none() {
        return Err(role_not_found());
    }
    if let Some(missing) = names.iter().find(|n| store.rbac.permission(n).is_none()) {
        return Err(ApiError::invalid(
            "permission_names",
            format!("the permission {missing} does not exist"),
        ));
    }
    let permissions = {
        let role = store
            .rbac
            .find_in_mut(None, &name)
            .ok_or_else(role_not_found)?;
        for n in names {
            if !role.permissions.contains(&n) {
                role.permissions.push(n);
            }
        }
        role.update_time = now();
        role.permissions.clone()
    };
    sync_everyone(&state, &mut store);
    ok(json!({"permissions": permissions_view(&store.rbac, &permissions)}))
}

/// `DELETE /api/v1/roles/{role_name}/permissions/{permission_name}`.
pub(super) async fn remove_role_permission(
    AxumState(state): AxumState<Shared>,
    Path((name, permission)): Path<(String, String)>,
) -> ApiResult {
    let mut store = state.management.store();
    let role = store
        .rbac
        .find_in_mut(None, &name)
        .ok_or_else(role_not_found)?;
    let before = role.permissions.len();
    role.permissions.retain(|p| *p != permission);
    if role.permissions.len() == before {
        return Err(ApiError::not_found("permission"));
    }
    role.update_time = now();
    sync_everyone(&state, &mut store);
    ok(json!({}))
}

/// `GET /api/v1/roles/{role_name}/permissions:all`: the effective set, the
/// base roles' included.
pub(super) async fn effective_role_permissions(
    AxumState(state): AxumState<Shared>,
    Path(name): Path<String>,
) -> ApiResult {
    let store = state.management.store();
    if store.rbac.find_in(None, &name).is_none() {
        return Err(role_not_found());
    }
    let names = store.rbac.chain_permissions("", &name);
    ok(json!({"permissions": permissions_view(&store.rbac, &names)}))
}

// ---- an organization member's roles and permissions ----

/// The roles of user `user_id`'s membership in `org`, or `404`.
fn member_roles(
    state: &State,
    store: &mut Store,
    org: &str,
    user_id: &str,
) -> Result<Vec<String>, ApiError> {
    find_organization(state, org)?;
    let user = find_user(state, user_id)?;
    store
        .user_extra(&user, state.management.started)
        .memberships
        .iter()
        .find(|m| m.organization_id == org)
        .map(|m| m.roles.clone())
        .ok_or_else(|| ApiError::not_found("membership"))
}

fn member_roles_view(store: &Store, org: &str, roles: &[String]) -> Vec<Value> {
    roles
        .iter()
        .map(|name| match store.rbac.find(org, name) {
            Some(r) => role_view(&store.rbac, r),
            None => json!({"name": name}),
        })
        .collect()
}

/// `GET /api/v1/organizations/{org}/users/{user_id}/roles`.
pub(super) async fn user_roles(
    AxumState(state): AxumState<Shared>,
    Path((org, user_id)): Path<(String, String)>,
) -> ApiResult {
    let mut store = state.management.store();
    let roles = member_roles(&state, &mut store, &org, &user_id)?;
    ok(json!({"roles": member_roles_view(&store, &org, &roles)}))
}

/// `POST /api/v1/organizations/{org}/users/{user_id}/roles` (`roles`:
/// `[{"role_name": …}]` or `[{"id": …}]`): adds roles the organization
/// sees; answers the membership's roles.
pub(super) async fn assign_user_roles(
    AxumState(state): AxumState<Shared>,
    Path((org, user_id)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    let map = body_object(&body)?;
    let list = match map.get("roles") {
        Some(Value::Array(list)) if !list.is_empty() => list.clone(),
        _ => return Err(ApiError::invalid("roles", "roles must be a non-empty list")),
    };
    let mut store = state.management.store();
    member_roles(&state, &mut store, &org, &user_id)?;
    let mut names = Vec::new();
    for (i, item) in list.iter().enumerate() {
        let field = format!("roles[{i}]");
        let by_name = item
            .get("role_name")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty());
        let by_id = item
            .get("id")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty());
        let role = match (by_name, by_id) {
            (Some(n), _) => store.rbac.find(&org, n),
            (None, Some(id)) => store.rbac.visible(&org).into_iter().find(|r| r.id == id),
            (None, None) => {
                return Err(ApiError::invalid(
                    field,
                    "a role needs a role_name or an id",
                ));
            }
        };
        let role = role.ok_or_else(|| ApiError::invalid(field, "the role does not exist"))?;
        names.push(role.name.clone());
    }
    let user = find_user(&state, &user_id)?;
    let roles = {
        let extra = store.user_extra(&user, state.management.started);
        let membership = extra
            .memberships
            .iter_mut()
            .find(|m| m.organization_id == org)
            .ok_or_else(|| ApiError::not_found("membership"))?;
        for n in names {
            if !membership.roles.contains(&n) {
                membership.roles.push(n);
            }
        }
        membership.roles.clone()
    };
    sync_user(&state, &mut store, &user_id);
    ok(json!({"roles": member_roles_view(&store, &org, &roles)}))
}

/// `DELETE /api/v1/organizations/{org}/users/{user_id}/roles/{role_name}`.
pub(super) async fn remove_user_role(
    AxumState(state): AxumState<Shared>,
    Path((org, user_id, role)): Path<(String, String, String)>,
) -> ApiResult {
    let mut store = state.management.store();
    let roles = member_roles(&state, &mut store, &org, &user_id)?;
    if !roles.contains(&role) {
        return Err(role_not_found());
    }
    let user = find_user(&state, &user_id)?;
    if let Some(m) = store
        .user_extra(&user, state.management.started)
        .memberships
        .iter_mut()
        .find(|m| m.organization_id == org)
    {
        m.roles.retain(|r| *r != role);
    }
    sync_user(&state, &mut store, &user_id);
    ok(json!({}))
}

/// `GET /api/v1/organizations/{org}/users/{user_id}/permissions`: the
/// effective permissions of the membership's roles.
pub(super) async fn user_permissions(
    AxumState(state): AxumState<Shared>,
    Path((org, user_id)): Path<(String, String)>,
) -> ApiResult {
    let mut store = state.management.store();
    let roles = member_roles(&state, &mut store, &org, &user_id)?;
    let names = store.rbac.effective_permissions(&org, &roles);
    let permissions: Vec<Value> = names
        .iter()
        .map(|n| {
            let p = store.rbac.permission(n);
            json!({
                "id": p.map(|p| p.id.clone()).unwrap_or_default(),
                "name": n,
                "description": p.map(|p| p.description.clone()).unwrap_or_default(),
                "tags": [],
            })
        })
        .collect();
    ok(json!({"permissions": permissions}))
}

impl super::Management {
    /// The role a new member of `organization_id` gets, with its effective
    /// permissions (a user who signs up on the sign-in page).
    pub(crate) fn default_membership(&self, organization_id: &str) -> (Vec<String>, Vec<String>) {
        let store = self.store();
        let roles = vec![store.rbac.default_member_of(organization_id)];
        let permissions = store.rbac.effective_permissions(organization_id, &roles);
        (roles, permissions)
    }
}
