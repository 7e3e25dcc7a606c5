//! One incoming escalation from one source.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::subject::Subject;
use super::validate::Checker;

/// Where a report came from. The order of standing is used by triage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    User,
    TrustedFlagger,
    Regulator,
    Government,
    LawEnforcement,
    Partner,
    Advertiser,
    Press,
    RightsHolder,
    Internal,
    Automated,
}

impl Source {
    pub const ALL: [Source; 11] = [
        Self::User,
        Self::TrustedFlagger,
        Self::Regulator,
        Self::Government,
        Self::LawEnforcement,
        Self::Partner,
        Self::Advertiser,
        Self::Press,
        Self::RightsHolder,
        Self::Internal,
        Self::Automated,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::TrustedFlagger => "trusted_flagger",
            Self::Regulator => "regulator",
            Self::Government => "government",
            Self::LawEnforcement => "law_enforcement",
            Self::Partner => "partner",
            Self::Advertiser => "advertiser",
            Self::Press => "press",
            Self::RightsHolder => "rights_holder",
            Self::Internal => "internal",
            Self::Automated => "automated",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// Facts a reporter asserts that raise urgency.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum RiskFlag {
    MinorSafety,
    ImminentHarm,
    HighProfile,
    Election,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reporter {
    /// A stable id of the reporter in the channel it used (a user id, an agency's reference).
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// ISO 639-1 language for replies; the content's language when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
}

/// A report as it arrives from any channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewReport {
    pub subject: Subject,
    pub source: Source,
    pub reporter: Reporter,
    /// The policy area the reporter claims is violated, e.g. `scams.financial`.
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// ISO 3166-1 alpha-2 country whose law or users the report concerns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jurisdiction: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_deadline: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub risk_flags: Vec<RiskFlag>,
    /// Sending the same key again returns the first result and writes nothing.
    pub idempotency_key: String,
}

impl NewReport {
    /// Checks every field; `known_area` says whether a policy area exists.
    pub fn check(&self, c: &mut Checker, known_area: impl Fn(&str) -> bool) {
        let mut sub = Checker::with_prefix("subject");
        self.subject.check(&mut sub);
        c.absorb(sub);
        c.required_text("reporter.id", &self.reporter.id, 200);
        c.optional_text("reporter.name", self.reporter.name.as_deref(), 200);
        c.optional_text("reporter.email", self.reporter.email.as_deref(), 320);
        if let Some(l) = &self.reporter.language {
            c.language("reporter.language", l);
        }
        if let Some(email) = &self.reporter.email
            && !email.contains('@')
        {
            c.fail("reporter.email", "must be an e-mail address");
        }
        if self.reason.trim().is_empty() {
            c.fail("reason", "is required and must not be blank");
        } else if !known_area(&self.reason) {
            c.fail(
                "reason",
                format!("'{}' is not a known policy area", truncate(&self.reason)),
            );
        }
        c.optional_text("text", self.text.as_deref(), 20_000);
        if let Some(j) = &self.jurisdiction {
            c.country("jurisdiction", j);
        }
        c.required_text("idempotency_key", &self.idempotency_key, 200);
    }

    /// The region a report concerns: its jurisdiction, else the subject's country.
    pub fn region(&self) -> Option<&str> {
        self.jurisdiction
            .as_deref()
            .or(self.subject.snapshot.country.as_deref())
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(80).collect()
}
