//! Who may do what. Roles grant permissions; restricted cases are visible only to their team.

pub mod identity;
pub mod token_cache;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::case::Case;
use crate::error::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Lead,
    Specialist,
    Qa,
    Analyst,
    /// Answers consultations for their team, nothing else.
    Partner,
    /// A program that sends reports in.
    Integration,
}

impl Role {
    pub const ALL: [Role; 7] = [
        Self::Admin,
        Self::Lead,
        Self::Specialist,
        Self::Qa,
        Self::Analyst,
        Self::Partner,
        Self::Integration,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Lead => "lead",
            Self::Specialist => "specialist",
            Self::Qa => "qa",
            Self::Analyst => "analyst",
            Self::Partner => "partner",
            Self::Integration => "integration",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    SubmitReports,
    ReadCases,
    /// Claim, note, tag, consult, decide on cases one holds.
    WorkCases,
    /// Assign, reassign and release anyone's case; restrict cases.
    ManageCases,
    ReadQueues,
    AnswerConsultations,
    ManageUsers,
    /// Read the policy registry.
    ReadPolicies,
    /// Add policy versions and import policy books.
    ManagePolicies,
    /// Approve or send back decisions held by the two-person rule.
    ApproveDecisions,
    /// See and retry deliveries to the platform.
    ManageDeliveries,
    /// File appeals on behalf of users and reporters (the platform's channel).
    FileAppeals,
    /// Run read-only SQL over the analysts' views and save queries.
    RunAnalytics,
    /// See the banks of known media, their entries and precision.
    ReadBanks,
    /// Create and tune banks; add, import, disable and remove their entries.
    ManageBanks,
}

/// The permission table: one place to read what each role may do.
pub fn allows(role: Role, p: Permission) -> bool {
    use Permission::*;
    match role {
        Role::Admin => true,
        // Appeals are the appellant's own: they come only through the platform's channel.
        Role::Lead => !matches!(p, ManageUsers | FileAppeals),
        Role::Specialist => {
            matches!(
                p,
                ReadCases | WorkCases | ReadQueues | ReadPolicies | ReadBanks
            )
        }
        Role::Qa | Role::Analyst => {
            matches!(
                p,
                ReadCases | ReadQueues | ReadPolicies | RunAnalytics | ReadBanks
            )
        }
        Role::Partner => matches!(p, AnswerConsultations | ReadPolicies),
        Role::Integration => matches!(p, SubmitReports | FileAppeals),
    }
}

/// The authenticated person or program behind a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Actor {
    pub user_id: i64,
    pub username: String,
    pub role: Role,
    pub teams: Vec<String>,
}

impl Actor {
    pub fn require(&self, p: Permission) -> Result<(), Error> {
        if allows(self.role, p) {
            Ok(())
        } else {
            Err(Error::Forbidden(format!(
                "the {} role may not do this",
                self.role.as_str()
            )))
        }
    }

    pub fn in_team(&self, team: &str) -> bool {
        self.teams.iter().any(|t| t == team)
    }

    /// Restricted cases exist only for members of their team; to anyone else they are not found.
    pub fn may_see(&self, case: &Case) -> bool {
        case.restricted_team
            .as_deref()
            .is_none_or(|team| self.in_team(team))
    }

    pub fn check_visible(&self, case: &Case) -> Result<(), Error> {
        if self.may_see(case) {
            Ok(())
        } else {
            Err(Error::NotFound("case"))
        }
    }

    /// Work on a case needs a live claim on it, or the lead's permission to manage cases.
    pub fn check_may_work(
        &self,
        case: &Case,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), Error> {
        self.require(Permission::WorkCases)?;
        if case.is_held_by(self.user_id, now) || allows(self.role, Permission::ManageCases) {
            Ok(())
        } else {
            Err(Error::Forbidden(
                "claim the case before working on it".into(),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partners_and_integrations_can_do_only_their_one_thing() {
        use Permission::*;
        for p in [
            SubmitReports,
            ReadCases,
            WorkCases,
            ManageCases,
            ReadQueues,
            ManageUsers,
        ] {
            assert!(!allows(Role::Partner, p));
        }
        assert!(allows(Role::Partner, AnswerConsultations));
        for p in [
            ReadCases,
            WorkCases,
            ManageCases,
            ReadQueues,
            AnswerConsultations,
            ManageUsers,
        ] {
            assert!(!allows(Role::Integration, p));
        }
        assert!(allows(Role::Integration, SubmitReports));
    }

    #[test]
    fn only_admins_manage_users_and_only_leads_and_admins_manage_cases() {
        for r in Role::ALL {
            assert_eq!(allows(r, Permission::ManageUsers), r == Role::Admin);
            assert_eq!(
                allows(r, Permission::ManageCases),
                matches!(r, Role::Admin | Role::Lead)
            );
        }
    }

    #[test]
    fn only_the_platform_and_admins_file_appeals() {
        for r in Role::ALL {
            assert_eq!(
                allows(r, Permission::FileAppeals),
                matches!(r, Role::Admin | Role::Integration)
            );
        }
    }

    #[test]
    fn analysts_qa_leads_and_admins_run_analytics() {
        for r in Role::ALL {
            assert_eq!(
                allows(r, Permission::RunAnalytics),
                matches!(r, Role::Admin | Role::Lead | Role::Qa | Role::Analyst),
                "{r:?}"
            );
        }
    }

    #[test]
    fn roles_round_trip() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
    }
}
