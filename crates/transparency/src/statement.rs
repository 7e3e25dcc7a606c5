//! The statement of reasons, field for field as the API takes it.

use chrono::NaiveDate;
use serde::{Deserialize, Deserializer, Serialize};

use crate::enums::{
    AccountType, AutomatedDecision, Category, ContentType, DecisionAccount, DecisionGround,
    DecisionMonetary, DecisionProvision, DecisionVisibility, Keyword, SourceType, YesNo,
};

/// One statement of reasons (DSA Art. 17) in the form of the Transparency Database API.
///
/// Each field is the API field of the same name. Optional fields are `Option` or `Vec` and are left
/// out of the JSON when `None` or empty; dates serialise as `YYYY-MM-DD`. Deserialisation accepts
/// the API's own answers too: unknown fields (`uuid`, `permalink`, `content_id`, …) are ignored and
/// `null` reads as absent. Nothing is checked on construction: call [`Statement::validate`] before
/// sending.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Statement {
    /// Visibility restrictions; at least one of the four `decision_*` must be given.
    #[serde(
        default,
        deserialize_with = "null_as_empty",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub decision_visibility: Vec<DecisionVisibility>,
    /// Required iff `decision_visibility` contains `DECISION_VISIBILITY_OTHER`; ≤ 500 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision_visibility_other: Option<String>,
    /// Restriction of monetary payments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision_monetary: Option<DecisionMonetary>,
    /// Required iff `decision_monetary` is `DECISION_MONETARY_OTHER`; ≤ 500 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision_monetary_other: Option<String>,
    /// Suspension or termination of the provision of the service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision_provision: Option<DecisionProvision>,
    /// Suspension or termination of the account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision_account: Option<DecisionAccount>,
    /// Business or private account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_type: Option<AccountType>,
    /// Illegal content, or incompatible with the terms and conditions.
    pub decision_ground: DecisionGround,
    /// The terms or the law relied on, as an http(s) URL; ≤ 500 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision_ground_reference_url: Option<String>,
    /// Required iff the ground is `DECISION_GROUND_ILLEGAL_CONTENT`; ≤ 500 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub illegal_content_legal_ground: Option<String>,
    /// Required iff the ground is `DECISION_GROUND_ILLEGAL_CONTENT`; ≤ 2000 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub illegal_content_explanation: Option<String>,
    /// Required iff the ground is `DECISION_GROUND_INCOMPATIBLE_CONTENT`; ≤ 500 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incompatible_content_ground: Option<String>,
    /// Required iff the ground is `DECISION_GROUND_INCOMPATIBLE_CONTENT`; ≤ 2000 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incompatible_content_explanation: Option<String>,
    /// Whether incompatible content is also considered illegal; only with that ground.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incompatible_content_illegal: Option<YesNo>,
    /// Required, at least one.
    #[serde(deserialize_with = "null_as_empty")]
    pub content_type: Vec<ContentType>,
    /// Required iff `content_type` contains `CONTENT_TYPE_OTHER`; ≤ 500 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type_other: Option<String>,
    /// The main category.
    pub category: Category,
    /// Further categories.
    #[serde(
        default,
        deserialize_with = "null_as_empty",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub category_addition: Vec<Category>,
    /// Keywords refining the category.
    #[serde(
        default,
        deserialize_with = "null_as_empty",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub category_specification: Vec<Keyword>,
    /// Free text for `KEYWORD_OTHER`, only with it; ≤ 500 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category_specification_other: Option<String>,
    /// EEA countries the restriction applies in, as ISO 3166-1 alpha-2 codes.
    #[serde(
        default,
        deserialize_with = "null_as_empty",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub territorial_scope: Vec<String>,
    /// Language of the content, upper-case ISO 639-1 (`EN`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_language: Option<String>,
    /// When the content was posted; 2000-01-01 ..= 2038-01-01.
    pub content_date: NaiveDate,
    /// When the decision took effect; 2020-01-01 ..= 2038-01-01.
    pub application_date: NaiveDate,
    /// End of the account restriction; `None` is indefinite.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_date_account_restriction: Option<NaiveDate>,
    /// End of the monetary restriction; `None` is indefinite.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_date_monetary_restriction: Option<NaiveDate>,
    /// End of the service restriction; `None` is indefinite.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_date_service_restriction: Option<NaiveDate>,
    /// End of the visibility restriction; `None` is indefinite.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_date_visibility_restriction: Option<NaiveDate>,
    /// The facts and circumstances relied on; required, ≤ 5000 characters. No personal data.
    pub decision_facts: String,
    /// A notice (and of which kind) or the provider's own initiative.
    pub source_type: SourceType,
    /// Who gave notice, if useful; ≤ 500 characters, absent for `SOURCE_VOLUNTARY`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_identity: Option<String>,
    /// Whether the content was detected by automated means.
    pub automated_detection: YesNo,
    /// How far the decision was automated.
    pub automated_decision: AutomatedDecision,
    /// The platform's unique identifier of the statement: required, ≤ 500 characters of
    /// `[a-zA-Z0-9-_]`, unique per platform.
    pub puid: String,
}

/// Reads a JSON `null` as an empty list, as the API's answers may carry one.
fn null_as_empty<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(deserializer)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::fixtures::{date, valid};

    /// The minimal fixture, byte for byte: field order, names, constants, dates, absences.
    #[test]
    fn serialises_with_the_api_field_names_and_constants() {
        let json = serde_json::to_string(&valid()).unwrap();
        let expected = concat!(
            r#"{"decision_visibility":["DECISION_VISIBILITY_CONTENT_REMOVED"],"#,
            r#""decision_ground":"DECISION_GROUND_ILLEGAL_CONTENT","#,
            r#""illegal_content_legal_ground":"Section 130 StGB (incitement to hatred)","#,
            r#""illegal_content_explanation":"The post calls for violence against a group defined by religion.","#,
            r#""content_type":["CONTENT_TYPE_TEXT"],"#,
            r#""category":"STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH","#,
            r#""territorial_scope":["DE"],"#,
            r#""content_date":"2025-06-30","#,
            r#""application_date":"2025-07-02","#,
            r#""decision_facts":"Reported by a user; reviewed by a moderator against the law of the reporting country.","#,
            r#""source_type":"SOURCE_ARTICLE_16","#,
            r#""automated_detection":"No","#,
            r#""automated_decision":"AUTOMATED_DECISION_NOT_AUTOMATED","#,
            r#""puid":"warden-case-0042"}"#,
        );
        assert_eq!(json, expected);
    }

    /// Every field set: each key and value as the API documents it.
    #[test]
    fn serialises_every_field_when_set() {
        let mut s = valid();
        s.decision_visibility = vec![
            DecisionVisibility::ContentDemoted,
            DecisionVisibility::Other,
        ];
        s.decision_visibility_other = Some("Hidden from search".into());
        s.decision_monetary = Some(DecisionMonetary::Other);
        s.decision_monetary_other = Some("Payout held".into());
        s.decision_provision = Some(DecisionProvision::PartialSuspension);
        s.decision_account = Some(DecisionAccount::Suspended);
        s.account_type = Some(AccountType::Private);
        s.decision_ground = DecisionGround::IncompatibleContent;
        s.decision_ground_reference_url = Some("https://example.org/terms#3".into());
        s.illegal_content_legal_ground = None;
        s.illegal_content_explanation = None;
        s.incompatible_content_ground = Some("Terms 3.1".into());
        s.incompatible_content_explanation = Some("Spam".into());
        s.incompatible_content_illegal = Some(YesNo::No);
        s.content_type = vec![ContentType::Image, ContentType::Other];
        s.content_type_other = Some("Sticker".into());
        s.category = Category::ScamsAndFraud;
        s.category_addition = vec![Category::ConsumerInformation];
        s.category_specification = vec![Keyword::Phishing, Keyword::Other];
        s.category_specification_other = Some("Fake giveaway".into());
        s.territorial_scope = vec!["AT".into(), "NO".into()];
        s.content_language = Some("EN".into());
        s.end_date_account_restriction = Some(date(2025, 8, 1));
        s.end_date_monetary_restriction = Some(date(2025, 8, 2));
        s.end_date_service_restriction = Some(date(2025, 8, 3));
        s.end_date_visibility_restriction = Some(date(2025, 8, 4));
        s.source_type = SourceType::TrustedFlagger;
        s.source_identity = Some("A trusted flagger".into());
        s.automated_detection = YesNo::Yes;
        s.automated_decision = AutomatedDecision::Partially;

        let expected = json!({
            "decision_visibility": ["DECISION_VISIBILITY_CONTENT_DEMOTED", "DECISION_VISIBILITY_OTHER"],
            "decision_visibility_other": "Hidden from search",
            "decision_monetary": "DECISION_MONETARY_OTHER",
            "decision_monetary_other": "Payout held",
            "decision_provision": "DECISION_PROVISION_PARTIAL_SUSPENSION",
            "decision_account": "DECISION_ACCOUNT_SUSPENDED",
            "account_type": "ACCOUNT_TYPE_PRIVATE",
            "decision_ground": "DECISION_GROUND_INCOMPATIBLE_CONTENT",
            "decision_ground_reference_url": "https://example.org/terms#3",
            "incompatible_content_ground": "Terms 3.1",
            "incompatible_content_explanation": "Spam",
            "incompatible_content_illegal": "No",
            "content_type": ["CONTENT_TYPE_IMAGE", "CONTENT_TYPE_OTHER"],
            "content_type_other": "Sticker",
            "category": "STATEMENT_CATEGORY_SCAMS_AND_FRAUD",
            "category_addition": ["STATEMENT_CATEGORY_CONSUMER_INFORMATION"],
            "category_specification": ["KEYWORD_PHISHING", "KEYWORD_OTHER"],
            "category_specification_other": "Fake giveaway",
            "territorial_scope": ["AT", "NO"],
            "content_language": "EN",
            "content_date": "2025-06-30",
            "application_date": "2025-07-02",
            "end_date_account_restriction": "2025-08-01",
            "end_date_monetary_restriction": "2025-08-02",
            "end_date_service_restriction": "2025-08-03",
            "end_date_visibility_restriction": "2025-08-04",
            "decision_facts": "Reported by a user; reviewed by a moderator against the law of the reporting country.",
            "source_type": "SOURCE_TRUSTED_FLAGGER",
            "source_identity": "A trusted flagger",
            "automated_detection": "Yes",
            "automated_decision": "AUTOMATED_DECISION_PARTIALLY",
            "puid": "warden-case-0042"
        });
        assert_eq!(serde_json::to_value(&s).unwrap(), expected);
        assert_eq!(s.validate(), Ok(()));
        let back: Statement = serde_json::from_value(expected).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn optional_fields_are_absent_when_empty() {
        let mut s = valid();
        s.territorial_scope.clear();
        let value = serde_json::to_value(&s).unwrap();
        let keys: Vec<&str> = value
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        for absent in [
            "decision_visibility_other",
            "decision_monetary",
            "decision_monetary_other",
            "decision_provision",
            "decision_account",
            "account_type",
            "decision_ground_reference_url",
            "incompatible_content_ground",
            "incompatible_content_explanation",
            "incompatible_content_illegal",
            "content_type_other",
            "category_addition",
            "category_specification",
            "category_specification_other",
            "territorial_scope",
            "content_language",
            "end_date_account_restriction",
            "end_date_monetary_restriction",
            "end_date_service_restriction",
            "end_date_visibility_restriction",
            "source_identity",
        ] {
            assert!(!keys.contains(&absent), "{absent} should be left out");
            assert!(value.get(absent).is_none());
        }
        // Required fields are always there, even an empty content_type.
        s.content_type.clear();
        let value = serde_json::to_value(&s).unwrap();
        assert_eq!(value["content_type"], json!([]));
        assert_eq!(value["puid"], json!("warden-case-0042"));
    }

    /// The request example of the API documentation (resources/markdown/api-documentation.md).
    const API_REQUEST_EXAMPLE: &str = r#"{
        "decision_visibility": ["DECISION_VISIBILITY_CONTENT_DISABLED"],
        "decision_monetary": "DECISION_MONETARY_TERMINATION",
        "end_date_monetary_restriction": "2023-08-08",
        "decision_provision": "DECISION_PROVISION_TOTAL_SUSPENSION",
        "decision_account": "DECISION_ACCOUNT_SUSPENDED",
        "account_type": "ACCOUNT_TYPE_BUSINESS",
        "decision_ground": "DECISION_GROUND_INCOMPATIBLE_CONTENT",
        "decision_ground_reference_url": "https://www.anurl.com",
        "content_type": ["CONTENT_TYPE_VIDEO", "CONTENT_TYPE_AUDIO", "CONTENT_TYPE_SYNTHETIC_MEDIA"],
        "category": "STATEMENT_CATEGORY_CYBER_VIOLENCE_AGAINST_WOMEN",
        "illegal_content_legal_ground": "illegal content legal grounds",
        "illegal_content_explanation": "illegal content explanation",
        "incompatible_content_ground": "incompatible content grounds",
        "incompatible_content_explanation": "incompatible content explanation",
        "incompatible_content_illegal": "Yes",
        "territorial_scope": ["PT", "ES", "DE"],
        "content_language": "EN",
        "content_date": "2023-08-08",
        "content_id": {"EAN-13": "0123456789123"},
        "application_date": "2023-08-08",
        "decision_facts": "facts about the decision",
        "source_type": "SOURCE_TRUSTED_FLAGGER",
        "automated_detection": "No",
        "automated_decision": "AUTOMATED_DECISION_PARTIALLY",
        "puid": "TK421"
    }"#;

    #[test]
    fn the_api_request_example_round_trips() {
        let s: Statement = serde_json::from_str(API_REQUEST_EXAMPLE).unwrap();
        assert_eq!(
            s.decision_visibility,
            vec![DecisionVisibility::ContentDisabled]
        );
        assert_eq!(s.decision_monetary, Some(DecisionMonetary::Termination));
        assert_eq!(
            s.decision_provision,
            Some(DecisionProvision::TotalSuspension)
        );
        assert_eq!(s.decision_account, Some(DecisionAccount::Suspended));
        assert_eq!(s.account_type, Some(AccountType::Business));
        assert_eq!(s.decision_ground, DecisionGround::IncompatibleContent);
        assert_eq!(
            s.content_type,
            vec![
                ContentType::Video,
                ContentType::Audio,
                ContentType::SyntheticMedia
            ]
        );
        assert_eq!(s.category, Category::CyberViolenceAgainstWomen);
        assert_eq!(s.incompatible_content_illegal, Some(YesNo::Yes));
        assert_eq!(s.territorial_scope, ["PT", "ES", "DE"]);
        assert_eq!(s.content_language.as_deref(), Some("EN"));
        assert_eq!(s.content_date, date(2023, 8, 8));
        assert_eq!(s.end_date_monetary_restriction, Some(date(2023, 8, 8)));
        assert_eq!(s.source_type, SourceType::TrustedFlagger);
        assert_eq!(s.automated_detection, YesNo::No);
        assert_eq!(s.automated_decision, AutomatedDecision::Partially);
        assert_eq!(s.puid, "TK421");

        // Back out and in again: nothing lost but the content_id we do not model.
        let mut original: Value = serde_json::from_str(API_REQUEST_EXAMPLE).unwrap();
        original.as_object_mut().unwrap().remove("content_id");
        assert_eq!(serde_json::to_value(&s).unwrap(), original);
        let again: Statement = serde_json::from_value(original).unwrap();
        assert_eq!(again, s);

        // The example sends illegal_* with an incompatible-content ground; the API drops them
        // silently, we say so.
        let fields: Vec<String> = s
            .validate()
            .unwrap_err()
            .into_iter()
            .map(|v| v.field)
            .collect();
        assert_eq!(
            fields,
            [
                "illegal_content_legal_ground",
                "illegal_content_explanation"
            ]
        );
    }

    /// The API's answer: extra fields, `null` end dates.
    #[test]
    fn the_api_response_example_deserialises() {
        let response = r#"{
            "content_id": {"EAN-13": "0123456789123"},
            "decision_visibility": ["DECISION_VISIBILITY_CONTENT_DISABLED"],
            "decision_monetary": "DECISION_MONETARY_TERMINATION",
            "decision_provision": "DECISION_PROVISION_TOTAL_SUSPENSION",
            "decision_account": "DECISION_ACCOUNT_SUSPENDED",
            "account_type": "ACCOUNT_TYPE_BUSINESS",
            "decision_ground": "DECISION_GROUND_INCOMPATIBLE_CONTENT",
            "decision_ground_reference_url": "https://www.anurl.com",
            "incompatible_content_ground": "incompatible content grounds",
            "incompatible_content_explanation": "incompatible content explanation",
            "incompatible_content_illegal": "Yes",
            "content_type": ["CONTENT_TYPE_AUDIO", "CONTENT_TYPE_SYNTHETIC_MEDIA", "CONTENT_TYPE_VIDEO"],
            "category": "STATEMENT_CATEGORY_CYBER_VIOLENCE_AGAINST_WOMEN",
            "territorial_scope": ["DE", "ES", "PT"],
            "content_language": "EN",
            "content_date": "2023-08-08",
            "application_date": "2023-08-08",
            "end_date_monetary_restriction": "2023-08-08",
            "decision_facts": "facts about the decision",
            "source_type": "SOURCE_TRUSTED_FLAGGER",
            "automated_detection": "No",
            "automated_decision": "AUTOMATED_DECISION_PARTIALLY",
            "end_date_visibility_restriction": null,
            "end_date_account_restriction": null,
            "end_date_service_restriction": null,
            "category_addition": null,
            "uuid": "4b989c23-3736-4fd9-8612-a975b98d88d6",
            "created_at": "2024-11-25 09:16:55",
            "id": 34509873504987,
            "platform_name": "The Platform",
            "permalink": "https://.../statement/34509873504987",
            "self": "https://.../api/v1/statement/34509873504987",
            "puid": "TK421"
        }"#;
        let s: Statement = serde_json::from_str(response).unwrap();
        assert_eq!(s.end_date_visibility_restriction, None);
        assert!(s.category_addition.is_empty());
        assert_eq!(s.puid, "TK421");
        assert_eq!(s.validate(), Ok(()));
    }

    #[test]
    fn malformed_input_is_refused() {
        let mut value = serde_json::to_value(valid()).unwrap();
        value["category"] = json!("STATEMENT_CATEGORY_PIRACY");
        let err = serde_json::from_value::<Statement>(value).unwrap_err();
        assert!(
            err.to_string().contains("STATEMENT_CATEGORY_PIRACY"),
            "{err}"
        );

        let mut value = serde_json::to_value(valid()).unwrap();
        value["content_date"] = json!("30/06/2025");
        assert!(serde_json::from_value::<Statement>(value).is_err());

        let mut value = serde_json::to_value(valid()).unwrap();
        value.as_object_mut().unwrap().remove("puid");
        assert!(serde_json::from_value::<Statement>(value).is_err());
    }
}
