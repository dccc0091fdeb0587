//! Who may do what in a workspace: the one table every route and server function asks.
//!
//! A person's role in a workspace ([`WorkspaceRole`]) is apart from their site role
//! ([`crate::domain::Role`], staff or not): an owner of one workspace may be a viewer of
//! another. [`allows`] answers for each [`Action`]; [`may_set_role`] and [`may_remove`]
//! add the rules about members that depend on whom the action touches.

use serde::{Deserialize, Serialize};

/// A member's role in a workspace, strongest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::Type, utoipa::ToSchema))]
#[cfg_attr(
    feature = "ssr",
    sqlx(type_name = "workspace_role", rename_all = "lowercase")
)]
#[serde(rename_all = "lowercase")]
pub enum WorkspaceRole {
    /// Billing, deleting the workspace, managing members; at least one per workspace.
    Owner,
    /// Members and everything but billing.
    Admin,
    /// Trackers, alerts, shares, sinks and tokens of their own.
    Editor,
    /// Reads everything, changes nothing.
    Viewer,
}

impl WorkspaceRole {
    pub const ALL: [WorkspaceRole; 4] = [
        WorkspaceRole::Owner,
        WorkspaceRole::Admin,
        WorkspaceRole::Editor,
        WorkspaceRole::Viewer,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            WorkspaceRole::Owner => "owner",
            WorkspaceRole::Admin => "admin",
            WorkspaceRole::Editor => "editor",
            WorkspaceRole::Viewer => "viewer",
        }
    }

    /// `Owner`, as the members page shows it.
    pub fn label(self) -> &'static str {
        match self {
            WorkspaceRole::Owner => "Owner",
            WorkspaceRole::Admin => "Admin",
            WorkspaceRole::Editor => "Editor",
            WorkspaceRole::Viewer => "Viewer",
        }
    }

    /// Reads `owner`, `admin`, `editor` or `viewer`.
    pub fn parse(text: &str) -> Result<Self, UnknownRole> {
        Self::ALL
            .into_iter()
            .find(|role| role.as_str() == text.trim())
            .ok_or_else(|| UnknownRole(text.trim().to_string()))
    }
}

impl std::fmt::Display for WorkspaceRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role name that is none of the four.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("\"{0}\" is not a role: choose owner, admin, editor or viewer")]
pub struct UnknownRole(pub String);

/// Everything a member can do in a workspace, for [`allows`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// See the workspace's trackers, series, alerts, shares, sinks and members.
    Read,
    /// Add, change, poll, import into and delete trackers and push sources.
    EditTrackers,
    /// Add, change and delete alert rules and channels.
    EditAlerts,
    /// Make and revoke public shares and badges.
    EditShares,
    /// Add, change and delete forwarding sinks.
    EditSinks,
    /// Make and revoke API tokens of one's own.
    ManageOwnTokens,
    /// Revoke other members' API tokens.
    ManageAllTokens,
    /// Invite, re-send and revoke invitations; change roles; remove members.
    ManageMembers,
    /// Read the workspace's audit trail.
    ReadAudit,
    /// Rename the workspace.
    Rename,
    /// Subscribe, change plan, open the billing portal.
    ManageBilling,
    /// Hand the workspace to another member.
    TransferOwnership,
    /// Delete the workspace with everything in it.
    DeleteWorkspace,
}

impl Action {
    pub const ALL: [Action; 13] = [
        Action::Read,
        Action::EditTrackers,
        Action::EditAlerts,
        Action::EditShares,
        Action::EditSinks,
        Action::ManageOwnTokens,
        Action::ManageAllTokens,
        Action::ManageMembers,
        Action::ReadAudit,
        Action::Rename,
        Action::ManageBilling,
        Action::TransferOwnership,
        Action::DeleteWorkspace,
    ];

    /// What a refusal says the action is: "change trackers".
    pub fn describe(self) -> &'static str {
        match self {
            Action::Read => "read this workspace",
            Action::EditTrackers => "change trackers",
            Action::EditAlerts => "change alerts",
            Action::EditShares => "change shares",
            Action::EditSinks => "change forwarding sinks",
            Action::ManageOwnTokens => "make API tokens",
            Action::ManageAllTokens => "revoke other members' API tokens",
            Action::ManageMembers => "manage members",
            Action::ReadAudit => "read the audit trail",
            Action::Rename => "rename the workspace",
            Action::ManageBilling => "manage billing",
            Action::TransferOwnership => "transfer ownership",
            Action::DeleteWorkspace => "delete the workspace",
        }
    }
}

/// Whether `role` may do `action`: the table.
pub fn allows(role: WorkspaceRole, action: Action) -> bool {
    use Action::*;
    use WorkspaceRole::*;
    match action {
        Read => true,
        EditTrackers | EditAlerts | EditShares | EditSinks | ManageOwnTokens => {
            matches!(role, Owner | Admin | Editor)
        }
        ManageAllTokens | ManageMembers | ReadAudit | Rename => matches!(role, Owner | Admin),
        ManageBilling | TransferOwnership | DeleteWorkspace => role == Owner,
    }
}

/// Why a member may not do something.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("As {article} {role} of this workspace you cannot {what}.", article = article(*role), what = action.describe())]
    Role { role: WorkspaceRole, action: Action },
    #[error("As a viewer of this workspace you can read everything but change nothing.")]
    ReadOnly,
    #[error("Only an owner can make someone an owner or change an owner's role.")]
    OwnersOnly,
    #[error("A workspace needs at least one owner: make someone else an owner first.")]
    LastOwner,
    #[error("You own this workspace already: choose another member to hand it to.")]
    TransferToSelf,
}

fn article(role: WorkspaceRole) -> &'static str {
    match role {
        WorkspaceRole::Owner | WorkspaceRole::Admin | WorkspaceRole::Editor => "an",
        WorkspaceRole::Viewer => "a",
    }
}

/// `Ok` when `role` may do `action`, else the refusal to show.
pub fn check(role: WorkspaceRole, action: Action) -> Result<(), Refusal> {
    if allows(role, action) {
        Ok(())
    } else {
        Err(Refusal::Role { role, action })
    }
}

/// `Ok` when `role` may change anything at all (every role the table lets do more than
/// [`Action::Read`]), else [`Refusal::ReadOnly`]: what an API write checks first.
pub fn check_writer(role: WorkspaceRole) -> Result<(), Refusal> {
    if Action::ALL
        .into_iter()
        .any(|action| action != Action::Read && allows(role, action))
    {
        Ok(())
    } else {
        Err(Refusal::ReadOnly)
    }
}

/// Whether `actor` may give `role` to a member who now has `current` (`None`: someone
/// being invited), where `owners` is how many owners the workspace has.
pub fn may_set_role(
    actor: WorkspaceRole,
    current: Option<WorkspaceRole>,
    role: WorkspaceRole,
    owners: usize,
) -> Result<(), Refusal> {
    check(actor, Action::ManageMembers)?;
    let touches_owner = role == WorkspaceRole::Owner || current == Some(WorkspaceRole::Owner);
    if touches_owner && actor != WorkspaceRole::Owner {
        return Err(Refusal::OwnersOnly);
    }
    if current == Some(WorkspaceRole::Owner) && role != WorkspaceRole::Owner && owners <= 1 {
        return Err(Refusal::LastOwner);
    }
    Ok(())
}

/// Whether `actor` may remove a member whose role is `target` from a workspace with
/// `owners` owners (leaving is [`may_leave`]).
pub fn may_remove(
    actor: WorkspaceRole,
    target: WorkspaceRole,
    owners: usize,
) -> Result<(), Refusal> {
    check(actor, Action::ManageMembers)?;
    if target == WorkspaceRole::Owner {
        if actor != WorkspaceRole::Owner {
            return Err(Refusal::OwnersOnly);
        }
        if owners <= 1 {
            return Err(Refusal::LastOwner);
        }
    }
    Ok(())
}

/// Whether a member with `role` may leave a workspace with `owners` owners: anyone but
/// its last owner.
pub fn may_leave(role: WorkspaceRole, owners: usize) -> Result<(), Refusal> {
    if role == WorkspaceRole::Owner && owners <= 1 {
        Err(Refusal::LastOwner)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{Action::*, WorkspaceRole::*, *};

    #[test]
    fn the_table_row_by_row() {
        // Owner, Admin, Editor, Viewer.
        #[rustfmt::skip]
        let table: [(Action, [bool; 4]); 13] = [
            (Read,              [true,  true,  true,  true]),
            (EditTrackers,      [true,  true,  true,  false]),
            (EditAlerts,        [true,  true,  true,  false]),
            (EditShares,        [true,  true,  true,  false]),
            (EditSinks,         [true,  true,  true,  false]),
            (ManageOwnTokens,   [true,  true,  true,  false]),
            (ManageAllTokens,   [true,  true,  false, false]),
            (ManageMembers,     [true,  true,  false, false]),
            (ReadAudit,         [true,  true,  false, false]),
            (Rename,            [true,  true,  false, false]),
            (ManageBilling,     [true,  false, false, false]),
            (TransferOwnership, [true,  false, false, false]),
            (DeleteWorkspace,   [true,  false, false, false]),
        ];
        assert_eq!(table.len(), Action::ALL.len());
        for (action, row) in table {
            for (role, expected) in WorkspaceRole::ALL.into_iter().zip(row) {
                assert_eq!(allows(role, action), expected, "{role} {action:?}");
            }
        }
    }

    #[test]
    fn a_refusal_names_the_role_and_the_action() {
        assert_eq!(
            check(Viewer, EditTrackers).map_err(|refusal| refusal.to_string()),
            Err("As a viewer of this workspace you cannot change trackers.".into())
        );
        assert_eq!(
            check(Editor, ManageMembers).map_err(|refusal| refusal.to_string()),
            Err("As an editor of this workspace you cannot manage members.".into())
        );
        assert!(check(Owner, DeleteWorkspace).is_ok());
        assert_eq!(check_writer(Viewer), Err(Refusal::ReadOnly));
        for role in [Owner, Admin, Editor] {
            assert!(check_writer(role).is_ok());
        }
    }

    #[test]
    fn only_owners_touch_owners_and_one_always_stays() {
        assert!(may_set_role(Admin, Some(Viewer), Editor, 1).is_ok());
        assert!(may_set_role(Admin, None, Admin, 1).is_ok());
        assert_eq!(
            may_set_role(Admin, Some(Editor), Owner, 1),
            Err(Refusal::OwnersOnly)
        );
        assert_eq!(
            may_set_role(Admin, Some(Owner), Viewer, 2),
            Err(Refusal::OwnersOnly)
        );
        assert!(may_set_role(Owner, Some(Editor), Owner, 1).is_ok());
        assert!(may_set_role(Owner, Some(Owner), Admin, 2).is_ok());
        assert_eq!(
            may_set_role(Owner, Some(Owner), Admin, 1),
            Err(Refusal::LastOwner)
        );
        assert!(matches!(
            may_set_role(Editor, Some(Viewer), Editor, 1),
            Err(Refusal::Role { .. })
        ));

        assert!(may_remove(Admin, Editor, 1).is_ok());
        assert_eq!(may_remove(Admin, Owner, 2), Err(Refusal::OwnersOnly));
        assert_eq!(may_remove(Owner, Owner, 1), Err(Refusal::LastOwner));
        assert!(may_remove(Owner, Owner, 2).is_ok());
        assert!(matches!(
            may_remove(Viewer, Viewer, 1),
            Err(Refusal::Role { .. })
        ));

        assert_eq!(may_leave(Owner, 1), Err(Refusal::LastOwner));
        assert!(may_leave(Owner, 2).is_ok());
        assert!(may_leave(Viewer, 1).is_ok());
    }

    #[test]
    fn roles_read_and_print_as_their_names() {
        for role in WorkspaceRole::ALL {
            assert_eq!(WorkspaceRole::parse(role.as_str()), Ok(role));
            assert_eq!(
                serde_json::to_string(&role).expect("json"),
                format!("\"{role}\"")
            );
        }
        assert_eq!(
            WorkspaceRole::parse("member").map_err(|error| error.to_string()),
            Err("\"member\" is not a role: choose owner, admin, editor or viewer".into())
        );
    }
}
