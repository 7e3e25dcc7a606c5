//! The statement of reasons (DSA Art. 17) for a decision, in the Transparency Database's form.
//! Pure: built from the decision, its policy and the case's facts. Only text written for the
//! statement (the decision's explanation, the policy's title and legal ground) goes into it; no
//! reporter, user name, e-mail or internal note ever does.

use chrono::{DateTime, NaiveDate, Utc};
use transparency::{
    AutomatedDecision, Category, ContentType, DecisionAccount, DecisionGround, DecisionMonetary,
    DecisionVisibility, Keyword, SourceType, Statement, YesNo,
};

use crate::domain::enforcement::{ActionKind, ActionSpec};
use crate::domain::policy::Policy;
use crate::domain::report::Source;
use crate::domain::subject::SubjectKind;

/// Everything a statement is made of.
pub struct StatementFacts<'a> {
    pub puid: String,
    pub policy: &'a Policy,
    pub actions: &'a [ActionSpec],
    /// The decision's explanation, written to be shown to the user and published.
    pub explanation: &'a str,
    pub subject_kind: SubjectKind,
    /// ISO 639-1 language of the content, if known.
    pub content_language: Option<&'a str>,
    /// When the content was posted or, failing that, first reported.
    pub content_date: NaiveDate,
    pub applied_at: DateTime<Utc>,
    /// The sources of the reports that led to the decision.
    pub sources: &'a [Source],
    /// The content was found by automated means other than an automated report (a match
    /// against a bank of known media).
    pub detected_automatically: bool,
    /// The decision was taken without a person (a bank's automatic action).
    pub decided_automatically: bool,
}

/// The statement for a decision, or `None` when it restricts nothing.
pub fn statement_of_reasons(f: &StatementFacts<'_>) -> Option<Statement> {
    let mut visibility = Vec::new();
    let mut visibility_other = None;
    let mut monetary = None;
    let mut account = None;
    let mut ends_visibility: Vec<Option<DateTime<Utc>>> = Vec::new();
    let mut ends_monetary = None;
    let mut ends_account = None;
    for a in f.actions {
        let v = match a.kind {
            ActionKind::Remove => Some(DecisionVisibility::ContentRemoved),
            ActionKind::GeoBlock | ActionKind::RejectAd => {
                Some(DecisionVisibility::ContentDisabled)
            }
            ActionKind::Demote => Some(DecisionVisibility::ContentDemoted),
            ActionKind::AgeRestrict => Some(DecisionVisibility::ContentAgeRestricted),
            ActionKind::Label => Some(DecisionVisibility::ContentLabelled),
            ActionKind::RestrictVisibility => {
                visibility_other =
                    Some("Visibility limited to the account's existing followers".to_string());
                Some(DecisionVisibility::Other)
            }
            ActionKind::Demonetise => {
                monetary = Some(if a.until.is_some() {
                    DecisionMonetary::Suspension
                } else {
                    DecisionMonetary::Termination
                });
                ends_monetary = a.until;
                None
            }
            ActionKind::SuspendAccount => {
                if account != Some(DecisionAccount::Terminated) {
                    account = Some(DecisionAccount::Suspended);
                    ends_account = a.until;
                }
                None
            }
            ActionKind::DisableAccount => {
                account = Some(DecisionAccount::Terminated);
                ends_account = None;
                None
            }
            ActionKind::Strike | ActionKind::NoAction => None,
        };
        if let Some(v) = v {
            if !visibility.contains(&v) {
                visibility.push(v);
            }
            ends_visibility.push(a.until);
        }
    }
    if visibility.is_empty() && monetary.is_none() && account.is_none() {
        return None;
    }
    // A restriction ends when its last part ends; one part without an end makes it indefinite.
    let end_of = |ends: &[Option<DateTime<Utc>>]| -> Option<NaiveDate> {
        if ends.is_empty() || ends.iter().any(Option::is_none) {
            return None;
        }
        ends.iter().flatten().max().map(DateTime::date_naive)
    };

    let p = f.policy;
    let explanation: String = f.explanation.chars().take(2000).collect();
    let (ground, legal_ground, illegal_expl, incompatible_ground, incompatible_expl) =
        match &p.legal_ground {
            Some(g) if p.is_local_law() => (
                DecisionGround::IllegalContent,
                Some(g.clone()),
                Some(explanation.clone()),
                None,
                None,
            ),
            _ => (
                DecisionGround::IncompatibleContent,
                None,
                None,
                Some(
                    format!("{} ({}@{})", p.title, p.id, p.version)
                        .chars()
                        .take(500)
                        .collect(),
                ),
                Some(explanation.clone()),
            ),
        };

    let (content_type, content_type_other) = match f.subject_kind {
        SubjectKind::Post | SubjectKind::Comment | SubjectKind::Message => {
            (vec![ContentType::Text], None)
        }
        SubjectKind::Photo => (vec![ContentType::Image], None),
        SubjectKind::Video => (vec![ContentType::Video], None),
        SubjectKind::Ad => (vec![ContentType::Other], Some("Advertisement")),
        SubjectKind::Account => (vec![ContentType::Other], Some("Account profile")),
        SubjectKind::Page => (vec![ContentType::Other], Some("Page")),
        SubjectKind::Group => (vec![ContentType::Other], Some("Group")),
        SubjectKind::Url => (
            vec![ContentType::Other],
            Some("Link to an external website"),
        ),
    };

    Some(Statement {
        decision_visibility: visibility,
        decision_visibility_other: visibility_other,
        decision_monetary: monetary,
        decision_monetary_other: None,
        decision_provision: None,
        decision_account: account,
        account_type: None,
        decision_ground: ground,
        decision_ground_reference_url: p.reference_url.clone(),
        illegal_content_legal_ground: legal_ground,
        illegal_content_explanation: illegal_expl,
        incompatible_content_ground: incompatible_ground,
        incompatible_content_explanation: incompatible_expl,
        incompatible_content_illegal: None,
        content_type,
        content_type_other: content_type_other.map(str::to_string),
        category: p
            .dsa_category
            .parse::<Category>()
            .unwrap_or(Category::OtherViolationTc),
        category_addition: Vec::new(),
        category_specification: p
            .dsa_keywords
            .iter()
            .filter_map(|k| k.parse::<Keyword>().ok())
            // KEYWORD_OTHER needs free text the policy book does not carry.
            .filter(|k| k.as_str() != "KEYWORD_OTHER")
            .collect(),
        category_specification_other: None,
        territorial_scope: territorial_scope(p, f.actions),
        content_language: f
            .content_language
            .filter(|l| transparency::is_language_code(&l.to_ascii_uppercase()))
            .map(str::to_ascii_uppercase),
        content_date: f.content_date.clamp(
            NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or_default(),
            f.applied_at.date_naive(),
        ),
        application_date: f.applied_at.date_naive(),
        end_date_account_restriction: ends_account.map(|d| d.date_naive()),
        end_date_monetary_restriction: ends_monetary.map(|d| d.date_naive()),
        end_date_service_restriction: None,
        end_date_visibility_restriction: end_of(&ends_visibility),
        decision_facts: explanation,
        source_type: source_type(f.sources, ground),
        source_identity: None,
        automated_detection: YesNo::from(
            f.detected_automatically || f.sources.contains(&Source::Automated),
        ),
        automated_decision: if f.decided_automatically {
            AutomatedDecision::Fully
        } else {
            AutomatedDecision::NotAutomated
        },
        puid: f.puid.clone(),
    })
}

/// Where in the EEA the restriction applies: the geo-blocked countries if the decision only
/// geo-blocks, the law's country for a local-law restriction, otherwise everywhere.
fn territorial_scope(p: &Policy, actions: &[ActionSpec]) -> Vec<String> {
    let restricting: Vec<&ActionSpec> = actions
        .iter()
        .filter(|a| !matches!(a.kind, ActionKind::NoAction | ActionKind::Strike))
        .collect();
    let mut scope: Vec<String> =
        if !restricting.is_empty() && restricting.iter().all(|a| a.kind == ActionKind::GeoBlock) {
            restricting
                .iter()
                .flat_map(|a| a.countries.iter().cloned())
                .collect()
        } else if let Some(j) = &p.jurisdiction {
            vec![j.clone()]
        } else {
            transparency::EEA_COUNTRIES
                .iter()
                .map(|c| c.to_string())
                .collect()
        };
    scope.retain(|c| transparency::is_eea_country(c));
    scope.sort();
    scope.dedup();
    scope
}

/// What the decision followed: a trusted flagger's notice, a notice under Art. 16 (illegal
/// content reported by anyone), another notification (orders, terms-of-service reports), or the
/// platform's own initiative.
fn source_type(sources: &[Source], ground: DecisionGround) -> SourceType {
    let external = |s: &&Source| !matches!(s, Source::Internal | Source::Automated);
    if sources.contains(&Source::TrustedFlagger) {
        SourceType::TrustedFlagger
    } else if ground == DecisionGround::IllegalContent
        && sources.iter().any(|s| {
            matches!(
                s,
                Source::User
                    | Source::Partner
                    | Source::Advertiser
                    | Source::Press
                    | Source::RightsHolder
            )
        })
    {
        SourceType::Article16
    } else if sources.iter().any(|s| external(&s)) {
        SourceType::OtherNotification
    } else {
        SourceType::Voluntary
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::priority::Severity;

    fn policy(local_law: bool) -> Policy {
        Policy {
            id: if local_law {
                "law.de.hate_speech"
            } else {
                "community.hate_speech"
            }
            .into(),
            version: 3,
            title: "Hate speech".into(),
            effective: "2026-01-01".parse().unwrap(),
            severity: Severity::High,
            area: None,
            allowed_actions: ActionKind::ALL.into_iter().collect(),
            strike_weight: 2,
            dsa_category: "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH".into(),
            dsa_keywords: vec!["KEYWORD_HATE_SPEECH".into()],
            jurisdiction: local_law.then(|| "DE".to_string()),
            legal_ground: local_law.then(|| "§ 130 StGB".to_string()),
            reference_url: Some("https://example.com/policies/hate-speech".into()),
            bank_confirmed_media: false,
            text: "…".into(),
        }
    }

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn build(p: &Policy, actions: &[ActionSpec], sources: &[Source]) -> Option<Statement> {
        statement_of_reasons(&StatementFacts {
            puid: "warden-decision-7".into(),
            policy: p,
            actions,
            explanation: "The post attacks people for their religion.",
            subject_kind: SubjectKind::Post,
            content_language: Some("de"),
            content_date: "2026-11-01".parse().unwrap(),
            applied_at: at("2026-11-20T10:00:00Z"),
            sources,
            detected_automatically: false,
            decided_automatically: false,
        })
    }

    fn spec(kind: ActionKind) -> ActionSpec {
        ActionSpec::new(kind)
    }

    #[test]
    fn nothing_restricted_means_no_statement() {
        let p = policy(false);
        assert!(build(&p, &[spec(ActionKind::NoAction)], &[Source::User]).is_none());
        assert!(build(&p, &[spec(ActionKind::Strike)], &[Source::User]).is_none());
    }

    #[test]
    fn a_terms_of_service_removal_is_valid_and_cites_the_policy_version() {
        let s = build(&policy(false), &[spec(ActionKind::Remove)], &[Source::User]).unwrap();
        s.validate().unwrap();
        assert_eq!(s.decision_ground, DecisionGround::IncompatibleContent);
        assert_eq!(
            s.incompatible_content_ground.as_deref(),
            Some("Hate speech (community.hate_speech@3)")
        );
        assert!(s.illegal_content_legal_ground.is_none());
        assert_eq!(s.territorial_scope.len(), 30);
        assert_eq!(s.source_type, SourceType::OtherNotification);
        assert_eq!(s.content_language.as_deref(), Some("DE"));
        assert_eq!(s.category_specification, vec![Keyword::HateSpeech]);
    }

    #[test]
    fn a_local_law_geo_block_is_illegal_content_scoped_to_the_blocked_eea_countries() {
        let mut geo = spec(ActionKind::GeoBlock);
        geo.countries = vec!["DE".into(), "AT".into(), "US".into()];
        let s = build(&policy(true), &[geo], &[Source::User, Source::Internal]).unwrap();
        s.validate().unwrap();
        assert_eq!(s.decision_ground, DecisionGround::IllegalContent);
        assert_eq!(
            s.illegal_content_legal_ground.as_deref(),
            Some("§ 130 StGB")
        );
        assert_eq!(s.territorial_scope, ["AT", "DE"]);
        assert_eq!(s.decision_visibility, [DecisionVisibility::ContentDisabled]);
        assert_eq!(s.source_type, SourceType::Article16);
    }

    #[test]
    fn account_and_money_restrictions_carry_their_end_dates() {
        let mut suspend = spec(ActionKind::SuspendAccount);
        suspend.until = Some(at("2026-11-27T10:00:00Z"));
        let mut demonetise = spec(ActionKind::Demonetise);
        demonetise.until = Some(at("2026-12-20T00:00:00Z"));
        let mut demote = spec(ActionKind::Demote);
        demote.until = Some(at("2026-12-01T00:00:00Z"));
        let s = build(
            &policy(false),
            &[suspend, demonetise, demote, spec(ActionKind::Remove)],
            &[Source::TrustedFlagger],
        )
        .unwrap();
        s.validate().unwrap();
        assert_eq!(s.decision_account, Some(DecisionAccount::Suspended));
        assert_eq!(s.end_date_account_restriction, "2026-11-27".parse().ok());
        assert_eq!(s.decision_monetary, Some(DecisionMonetary::Suspension));
        assert_eq!(s.end_date_monetary_restriction, "2026-12-20".parse().ok());
        assert_eq!(
            s.end_date_visibility_restriction, None,
            "a removal has no end, so neither has the visibility restriction"
        );
        assert_eq!(s.source_type, SourceType::TrustedFlagger);
        let s = build(&policy(false), &[spec(ActionKind::DisableAccount)], &[]).unwrap();
        assert_eq!(s.decision_account, Some(DecisionAccount::Terminated));
        assert_eq!(s.source_type, SourceType::Voluntary);
    }

    #[test]
    fn automated_detection_follows_the_sources() {
        let s = build(
            &policy(false),
            &[spec(ActionKind::Label)],
            &[Source::Automated],
        )
        .unwrap();
        assert_eq!(s.automated_detection, YesNo::Yes);
        assert_eq!(s.automated_decision, AutomatedDecision::NotAutomated);
        assert_eq!(s.source_type, SourceType::Voluntary);
    }

    #[test]
    fn a_banks_automatic_action_is_fully_automated_and_automatically_detected() {
        let p = policy(false);
        let facts = StatementFacts {
            puid: "warden-decision-8".into(),
            policy: &p,
            actions: &[spec(ActionKind::Remove)],
            explanation: "The image is a copy of media confirmed as terrorist propaganda.",
            subject_kind: SubjectKind::Photo,
            content_language: None,
            content_date: "2026-11-01".parse().unwrap(),
            applied_at: at("2026-11-20T10:00:00Z"),
            sources: &[Source::User],
            detected_automatically: true,
            decided_automatically: true,
        };
        let s = statement_of_reasons(&facts).unwrap();
        assert_eq!(s.automated_detection, YesNo::Yes);
        assert_eq!(s.automated_decision, AutomatedDecision::Fully);
        assert!(s.validate().is_ok());
    }
}
