//! What a workspace's audit trail records: every change of membership or role.

use serde::{Deserialize, Serialize};

use super::WorkspaceRole;

/// A change the audit trail records (`workspace_audit.action`, as text).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::Type, utoipa::ToSchema))]
#[cfg_attr(feature = "ssr", sqlx(type_name = "text", rename_all = "snake_case"))]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    /// Someone made the workspace (its first owner).
    WorkspaceCreated,
    /// A member's role changed (`previous_role` → `role`).
    RoleChanged,
    /// An owner or admin removed a member.
    MemberRemoved,
    /// A member left.
    MemberLeft,
    /// An owner or admin invited an address (`subject_email`) with `role`.
    InvitationSent,
    /// An open invitation was sent again, with a new link.
    InvitationResent,
    /// An open invitation was revoked.
    InvitationRevoked,
    /// Someone joined through an invitation (`subject`, with `role`).
    InvitationAccepted,
    /// An owner handed ownership to a member (`subject`) and became an admin.
    OwnershipTransferred,
}

impl AuditAction {
    /// The entry in words, given who did it and to whom.
    pub fn describe(
        self,
        actor: &str,
        subject: &str,
        role: Option<WorkspaceRole>,
        previous: Option<WorkspaceRole>,
    ) -> String {
        let name = |role: Option<WorkspaceRole>| role.map_or("?", WorkspaceRole::as_str);
        match self {
            AuditAction::WorkspaceCreated => format!("{actor} created the workspace"),
            AuditAction::RoleChanged => format!(
                "{actor} changed {subject} from {} to {}",
                name(previous),
                name(role)
            ),
            AuditAction::MemberRemoved => format!("{actor} removed {subject}"),
            AuditAction::MemberLeft => format!("{actor} left the workspace"),
            AuditAction::InvitationSent => {
                format!("{actor} invited {subject} as {}", name(role))
            }
            AuditAction::InvitationResent => format!("{actor} sent {subject}'s invitation again"),
            AuditAction::InvitationRevoked => format!("{actor} revoked {subject}'s invitation"),
            AuditAction::InvitationAccepted => {
                format!("{subject} joined as {} through an invitation", name(role))
            }
            AuditAction::OwnershipTransferred => {
                format!("{actor} handed ownership to {subject}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_read_as_sentences() {
        assert_eq!(
            AuditAction::RoleChanged.describe(
                "ann@example.com",
                "bo@example.com",
                Some(WorkspaceRole::Editor),
                Some(WorkspaceRole::Viewer)
            ),
            "ann@example.com changed bo@example.com from viewer to editor"
        );
        assert_eq!(
            serde_json::to_string(&AuditAction::MemberLeft).expect("json"),
            "\"member_left\""
        );
    }
}
