//! What each role may do. Roles are configured per operator (`[[dashboard.users]] role`).

use crate::config::dashboard::Role;

/// An area of the dashboard, as far as access is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// Visit and consent figures, coverage, comparisons.
    Figures,
    /// The contact-form inbox: read, mark handled, delete, export.
    Inbox,
    /// Consent look-up by id, receipts, erasure and export.
    ConsentRecords,
    /// Finding, exporting and erasing everything for one person (data-subject requests).
    DataSubjectRequests,
    /// The audit log.
    AuditLog,
    /// The health page and the effective configuration.
    Health,
    /// Discovery: unclassified cookies and origins, CSP reports, classifying them.
    Discovery,
}

impl Permission {
    /// Every permission, in navigation order.
    pub const ALL: [Permission; 7] = [
        Permission::Figures,
        Permission::Inbox,
        Permission::ConsentRecords,
        Permission::DataSubjectRequests,
        Permission::AuditLog,
        Permission::Health,
        Permission::Discovery,
    ];

    /// Whether an operator with `role` has this permission.
    pub fn granted_to(self, role: Role) -> bool {
        match role {
            Role::Admin => true,
            Role::Inbox => matches!(
                self,
                Permission::Inbox | Permission::ConsentRecords | Permission::DataSubjectRequests
            ),
            Role::Analyst => self == Permission::Figures,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_see_only_their_areas() {
        let granted = |role| -> Vec<Permission> {
            Permission::ALL
                .into_iter()
                .filter(|p| p.granted_to(role))
                .collect()
        };
        assert_eq!(granted(Role::Admin), Permission::ALL.to_vec());
        assert_eq!(
            granted(Role::Inbox),
            [
                Permission::Inbox,
                Permission::ConsentRecords,
                Permission::DataSubjectRequests
            ]
        );
        assert_eq!(granted(Role::Analyst), [Permission::Figures]);
    }
}
