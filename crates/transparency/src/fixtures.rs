//! Test fixtures shared by the modules' tests.

use chrono::NaiveDate;

use crate::enums::{
    AutomatedDecision, Category, ContentType, DecisionGround, DecisionVisibility, SourceType, YesNo,
};
use crate::statement::Statement;

pub fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("a real date")
}

/// A minimal statement that passes validation: illegal content, removed, on notice.
pub fn valid() -> Statement {
    Statement {
        decision_visibility: vec![DecisionVisibility::ContentRemoved],
        decision_visibility_other: None,
        decision_monetary: None,
        decision_monetary_other: None,
        decision_provision: None,
        decision_account: None,
        account_type: None,
        decision_ground: DecisionGround::IllegalContent,
        decision_ground_reference_url: None,
        illegal_content_legal_ground: Some("Section 130 StGB (incitement to hatred)".into()),
        illegal_content_explanation: Some(
            "The post calls for violence against a group defined by religion.".into(),
        ),
        incompatible_content_ground: None,
        incompatible_content_explanation: None,
        incompatible_content_illegal: None,
        content_type: vec![ContentType::Text],
        content_type_other: None,
        category: Category::IllegalOrHarmfulSpeech,
        category_addition: vec![],
        category_specification: vec![],
        category_specification_other: None,
        territorial_scope: vec!["DE".into()],
        content_language: None,
        content_date: date(2025, 6, 30),
        application_date: date(2025, 7, 2),
        end_date_account_restriction: None,
        end_date_monetary_restriction: None,
        end_date_service_restriction: None,
        end_date_visibility_restriction: None,
        decision_facts: "Reported by a user; reviewed by a moderator against the law of the \
                         reporting country."
            .into(),
        source_type: SourceType::Article16,
        source_identity: None,
        automated_detection: YesNo::No,
        automated_decision: AutomatedDecision::NotAutomated,
        puid: "warden-case-0042".into(),
    }
}

/// The same case decided on the terms and conditions instead of the law.
pub fn valid_incompatible() -> Statement {
    Statement {
        decision_ground: DecisionGround::IncompatibleContent,
        illegal_content_legal_ground: None,
        illegal_content_explanation: None,
        incompatible_content_ground: Some("Community guidelines, section 4 (hate)".into()),
        incompatible_content_explanation: Some(
            "The post attacks a group defined by religion.".into(),
        ),
        ..valid()
    }
}
