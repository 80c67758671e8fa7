//! Roles and permissions through the client and the emulator: every
//! operation's success, not-found and validation answers, and the
//! semantics an application sees (effective permissions through
//! `extends`, cycles refused, reassignment on delete, default roles,
//! users counts).

mod common;

use common::{
    assert_conflict, assert_invalid, assert_not_found, assert_precondition, assert_refused, setup,
};
use futures_util::TryStreamExt;
use scalekit_management::{
    CreateOrganizationRequest, CreatePermissionRequest, CreateRoleRequest, CreateUserRequest,
    ManagementClient, MembershipRequest, PageOptions, Permission, UpdateRoleRequest,
};

fn names(permissions: &[Permission]) -> Vec<&str> {
    permissions.iter().map(|p| p.name.as_str()).collect()
}

async fn permission(client: &ManagementClient, name: &str) {
    client
        .permissions()
        .create_permission(&CreatePermissionRequest::new(name))
        .await
        .unwrap();
}

#[tokio::test]
async fn permissions_are_created_read_listed_updated_and_deleted() {
    let (_emulator, client) = setup().await;
    let permissions = client.permissions();
    let created = permissions
        .create_permission(&CreatePermissionRequest::new("docs:write").description("Edits docs"))
        .await
        .unwrap();
    assert_eq!(created.name, "docs:write");
    assert!(created.id.as_deref().unwrap().starts_with("perm_"));
    assert_eq!(created.is_scalekit_permission, Some(false));
    assert_conflict(
        permissions
            .create_permission(&CreatePermissionRequest::new("docs:write"))
            .await,
    );
    assert_invalid(
        permissions
            .create_permission(&CreatePermissionRequest::new("has space"))
            .await,
        "name",
    );

    let read = permissions.get_permission("docs:write").await.unwrap();
    assert_eq!(read.description.as_deref(), Some("Edits docs"));
    assert_not_found(permissions.get_permission("docs:nothing").await);
    assert_refused(permissions.get_permission("").await);

    // The seeded two and this one, by pages of two.
    let first = permissions
        .list_permissions(&PageOptions::new().page_size(2))
        .await
        .unwrap();
    assert_eq!((first.items.len(), first.total_size), (2, Some(3)));
    assert!(first.has_next());
    let all: Vec<Permission> = permissions
        .list_permissions_stream(PageOptions::new().page_size(2))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(names(&all), ["admin:read", "projects:read", "docs:write"]);

    let updated = permissions
        .update_permission(
            "docs:write",
            &CreatePermissionRequest::new("docs:write").description("Writes docs"),
        )
        .await
        .unwrap();
    assert_eq!(updated.description.as_deref(), Some("Writes docs"));
    assert_not_found(
        permissions
            .update_permission("docs:none", &CreatePermissionRequest::new("docs:none"))
            .await,
    );
    assert_invalid(
        permissions
            .update_permission("docs:write", &CreatePermissionRequest::new("docs:other"))
            .await,
        "name",
    );

    // Granted by a role: kept until the role lets go of it.
    assert_precondition(
        permissions.delete_permission("projects:read").await,
        "member",
    );
    permissions.delete_permission("docs:write").await.unwrap();
    assert_not_found(permissions.get_permission("docs:write").await);
    assert_not_found(permissions.delete_permission("docs:write").await);
}

#[tokio::test]
async fn a_role_grants_its_own_permissions_and_its_bases_transitively() {
    let (_emulator, client) = setup().await;
    for p in ["docs:read", "docs:write", "docs:publish"] {
        permission(&client, p).await;
    }
    let roles = client.roles();
    let permissions = client.permissions();
    let viewer = roles
        .create_role(
            &CreateRoleRequest::new("viewer")
                .display_name("Viewer")
                .permission("docs:read"),
        )
        .await
        .unwrap();
    assert_eq!(viewer.extends, None);
    assert_eq!(viewer.is_org_role, Some(false));
    let editor = roles
        .create_role(
            &CreateRoleRequest::new("editor")
                .extends("viewer")
                .permission("docs:write"),
        )
        .await
        .unwrap();
    assert_eq!(editor.extends.as_deref(), Some("viewer"));
    roles
        .create_role(&CreateRoleRequest::new("publisher").extends("editor"))
        .await
        .unwrap();
    assert_conflict(roles.create_role(&CreateRoleRequest::new("viewer")).await);
    assert_invalid(roles.create_role(&CreateRoleRequest::new("")).await, "name");
    assert_invalid(
        roles
            .create_role(&CreateRoleRequest::new("x").extends("nobody"))
            .await,
        "extends",
    );

    // Own permissions, then the effective set.
    permissions
        .add_permissions_to_role("publisher", ["docs:publish"])
        .await
        .unwrap();
    assert_eq!(
        names(
            &permissions
                .list_role_permissions("publisher")
                .await
                .unwrap()
        ),
        ["docs:publish"]
    );
    assert_eq!(
        names(
            &permissions
                .list_effective_role_permissions("publisher")
                .await
                .unwrap()
        ),
        ["docs:publish", "docs:write", "docs:read"]
    );
    assert_not_found(permissions.list_role_permissions("nobody").await);
    assert_not_found(permissions.list_effective_role_permissions("nobody").await);
    assert_not_found(
        permissions
            .add_permissions_to_role("nobody", ["docs:read"])
            .await,
    );
    assert_invalid(
        permissions
            .add_permissions_to_role("viewer", ["docs:undefined"])
            .await,
        "permission_names",
    );
    permissions
        .remove_permission_from_role("publisher", "docs:publish")
        .await
        .unwrap();
    assert_not_found(
        permissions
            .remove_permission_from_role("publisher", "docs:publish")
            .await,
    );
    assert_eq!(
        names(
            &permissions
                .list_effective_role_permissions("publisher")
                .await
                .unwrap()
        ),
        ["docs:write", "docs:read"]
    );

    // Read, listed, changed; a cycle is refused.
    let read = roles.get_role("editor").await.unwrap();
    assert_eq!(read.permissions, ["docs:write"]);
    assert_eq!(read.dependent_roles_count, Some(1));
    assert_not_found(roles.get_role("nobody").await);
    let listed: Vec<String> = roles
        .list_roles()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert_eq!(listed, ["admin", "member", "viewer", "editor", "publisher"]);
    assert_invalid(
        roles
            .update_role("viewer", &UpdateRoleRequest::new().extends("publisher"))
            .await,
        "extends",
    );
    assert_invalid(
        roles
            .update_role("viewer", &UpdateRoleRequest::new().extends("viewer"))
            .await,
        "extends",
    );
    assert_not_found(
        roles
            .update_role("nobody", &UpdateRoleRequest::new().display_name("x"))
            .await,
    );
    let changed = roles
        .update_role(
            "viewer",
            &UpdateRoleRequest::new()
                .display_name("Reader")
                .extends("member"),
        )
        .await
        .unwrap();
    assert_eq!(changed.display_name.as_deref(), Some("Reader"));
    assert_eq!(
        names(
            &permissions
                .list_effective_role_permissions("publisher")
                .await
                .unwrap()
        ),
        ["docs:write", "docs:read", "projects:read"]
    );
    let dependents = roles.list_dependent_roles("viewer").await.unwrap();
    assert_eq!(dependents[0].name, "editor");
    assert_not_found(roles.list_dependent_roles("nobody").await);

    // A role another extends cannot go; without its base it can.
    assert_precondition(roles.delete_role("viewer", None).await, "editor");
    roles.delete_role_base("editor").await.unwrap();
    assert_not_found(roles.delete_role_base("nobody").await);
    assert_eq!(roles.get_role("editor").await.unwrap().extends, None);
    roles.delete_role("viewer", None).await.unwrap();
    assert_not_found(roles.get_role("viewer").await);
    assert_not_found(roles.delete_role("viewer", None).await);
    assert_precondition(roles.delete_role("member", None).await, "default");
}

#[tokio::test]
async fn deleting_a_role_moves_its_members_and_counts_follow() {
    let (emulator, client) = setup().await;
    let org = emulator.test_user().organization_id.clone();
    let roles = client.roles();
    roles
        .create_role(&CreateRoleRequest::new("auditor").permission("admin:read"))
        .await
        .unwrap();
    let mut ids = Vec::new();
    for email in ["a1@example.com", "a2@example.com"] {
        let user = client
            .users()
            .create_user_and_membership(&org, &CreateUserRequest::new(email).role("auditor"))
            .await
            .unwrap();
        ids.push(user.id);
    }
    assert_eq!(roles.get_role_users_count("auditor").await.unwrap(), 2);
    assert_not_found(roles.get_role_users_count("nobody").await);
    assert_invalid(
        roles.delete_role("auditor", Some("nobody")).await,
        "reassign_role_name",
    );
    assert_precondition(roles.delete_role("auditor", None).await, "reassign");
    let members_before = roles.get_role_users_count("member").await.unwrap();
    roles.delete_role("auditor", Some("member")).await.unwrap();
    assert_eq!(
        roles.get_role_users_count("member").await.unwrap(),
        members_before + 2
    );
    let user_roles = client.users().list_user_roles(&org, &ids[0]).await.unwrap();
    assert_eq!(user_roles[0].name, "member");
}

#[tokio::test]
async fn organization_roles_extend_the_environments_and_defaults_apply_to_new_members() {
    let (_emulator, client) = setup().await;
    let org = client
        .organizations()
        .create_organization(&CreateOrganizationRequest::new("Hooli"))
        .await
        .unwrap();
    let roles = client.roles();
    permission(&client, "code:merge").await;
    let lead = roles
        .create_organization_role(
            &org.id,
            &CreateRoleRequest::new("lead")
                .extends("member")
                .permission("code:merge"),
        )
        .await
        .unwrap();
    assert_eq!(lead.is_org_role, Some(true));
    assert_conflict(
        roles
            .create_organization_role(&org.id, &CreateRoleRequest::new("member"))
            .await,
    );
    assert_invalid(
        roles
            .create_organization_role(&org.id, &CreateRoleRequest::new("bad name"))
            .await,
        "name",
    );
    assert_not_found(
        roles
            .create_organization_role("org_000000000000000001", &CreateRoleRequest::new("x"))
            .await,
    );
    let visible: Vec<String> = roles
        .list_organization_roles(&org.id)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert_eq!(visible, ["admin", "member", "lead"]);
    assert_not_found(
        roles
            .list_organization_roles("org_000000000000000001")
            .await,
    );
    assert_eq!(
        roles
            .get_organization_role(&org.id, "lead")
            .await
            .unwrap()
            .extends
            .as_deref(),
        Some("member")
    );
    assert_not_found(roles.get_organization_role(&org.id, "nobody").await);
    // The environment's roles are not the organization's own.
    assert_not_found(roles.get_organization_role(&org.id, "member").await);
    let renamed = roles
        .update_organization_role(
            &org.id,
            "lead",
            &UpdateRoleRequest::new().display_name("Tech lead"),
        )
        .await
        .unwrap();
    assert_eq!(renamed.display_name.as_deref(), Some("Tech lead"));
    assert_not_found(
        roles
            .update_organization_role(&org.id, "nobody", &UpdateRoleRequest::new())
            .await,
    );
    assert_invalid(
        roles
            .update_organization_role(&org.id, "lead", &UpdateRoleRequest::new().extends("ghost"))
            .await,
        "extends",
    );

    // New members get the organization's default role.
    let default = roles
        .update_default_organization_roles(&org.id, "lead")
        .await
        .unwrap();
    assert_eq!(default.name, "lead");
    assert_eq!(default.default_member, Some(true));
    assert_invalid(
        roles
            .update_default_organization_roles(&org.id, "ghost")
            .await,
        "default_member_role",
    );
    assert_not_found(
        roles
            .update_default_organization_roles("org_000000000000000001", "lead")
            .await,
    );
    let user = client
        .users()
        .create_user_and_membership(&org.id, &CreateUserRequest::new("gilfoyle@hooli.example"))
        .await
        .unwrap();
    let held: Vec<&str> = user.membership(&org.id).unwrap().role_names().collect();
    assert_eq!(held, ["lead"]);
    let effective = client
        .users()
        .list_user_permissions(&org.id, &user.id)
        .await
        .unwrap();
    assert_eq!(names(&effective), ["code:merge", "projects:read"]);
    assert_eq!(
        roles
            .get_organization_role_users_count(&org.id, "lead")
            .await
            .unwrap(),
        1
    );
    assert_not_found(
        roles
            .get_organization_role_users_count(&org.id, "nobody")
            .await,
    );

    // The default cannot be deleted; another can, its members moved.
    assert_precondition(
        roles.delete_organization_role(&org.id, "lead", None).await,
        "default",
    );
    roles
        .create_organization_role(&org.id, &CreateRoleRequest::new("intern"))
        .await
        .unwrap();
    roles
        .update_default_organization_roles(&org.id, "intern")
        .await
        .unwrap();
    roles
        .delete_organization_role_base(&org.id, "lead")
        .await
        .unwrap();
    assert_eq!(
        names(
            &client
                .users()
                .list_user_permissions(&org.id, &user.id)
                .await
                .unwrap()
        ),
        ["code:merge"]
    );
    assert_not_found(roles.delete_organization_role_base(&org.id, "nobody").await);
    roles
        .delete_organization_role(&org.id, "lead", Some("admin"))
        .await
        .unwrap();
    let held: Vec<String> = client
        .users()
        .list_user_roles(&org.id, &user.id)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert_eq!(held, ["admin"]);
    assert_not_found(roles.delete_organization_role(&org.id, "lead", None).await);
}

#[tokio::test]
async fn a_members_roles_are_assigned_listed_and_removed() {
    let (emulator, client) = setup().await;
    let org = emulator.test_user().organization_id.clone();
    let users = client.users();
    let user = users
        .create_user_and_membership(&org, &CreateUserRequest::new("bob@example.com"))
        .await
        .unwrap();
    let roles = users.list_user_roles(&org, &user.id).await.unwrap();
    assert_eq!(roles.len(), 1);
    assert_eq!(roles[0].name, "member");
    let roles = users
        .assign_user_roles(&org, &user.id, ["admin"])
        .await
        .unwrap();
    let held: Vec<&str> = roles.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(held, ["member", "admin"]);
    assert_eq!(
        names(&users.list_user_permissions(&org, &user.id).await.unwrap()),
        ["projects:read", "admin:read"]
    );
    assert_invalid(
        users.assign_user_roles(&org, &user.id, ["ghost"]).await,
        "roles[0]",
    );
    assert_refused(
        users
            .assign_user_roles(&org, &user.id, Vec::<String>::new())
            .await,
    );
    users
        .remove_user_role(&org, &user.id, "member")
        .await
        .unwrap();
    assert_not_found(users.remove_user_role(&org, &user.id, "member").await);
    assert_eq!(
        names(&users.list_user_permissions(&org, &user.id).await.unwrap()),
        ["admin:read", "projects:read"]
    );
    // Not a member of that organization; no such user.
    let other = client
        .organizations()
        .create_organization(&CreateOrganizationRequest::new("Elsewhere"))
        .await
        .unwrap();
    assert_not_found(users.list_user_roles(&other.id, &user.id).await);
    assert_not_found(
        users
            .list_user_permissions(&org, "usr_000000000000000001")
            .await,
    );
    // A membership added without roles gets the default.
    users
        .create_membership(&other.id, &user.id, &MembershipRequest::new())
        .await
        .unwrap();
    assert_eq!(
        users.list_user_roles(&other.id, &user.id).await.unwrap()[0].name,
        "member"
    );
}

#[tokio::test]
async fn the_environments_default_roles_are_changed() {
    let (_emulator, client) = setup().await;
    let roles = client.roles();
    roles
        .create_role(&CreateRoleRequest::new("guest"))
        .await
        .unwrap();
    let defaults = roles
        .update_default_roles(Some("guest"), None)
        .await
        .unwrap();
    assert_eq!(defaults.default_member.unwrap().name, "guest");
    assert_eq!(defaults.default_creator.unwrap().name, "admin");
    assert_invalid(
        roles.update_default_roles(None, Some("ghost")).await,
        "default_creator_role",
    );
    // `member` is no longer a default: it may go.
    roles.delete_role("member", Some("guest")).await.unwrap();
}
