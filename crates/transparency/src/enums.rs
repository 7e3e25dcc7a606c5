//! The closed value lists of the statement of reasons, each spelt exactly as the API's constant.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

/// A string that is not one of the values of a closed list.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not a valid {kind}")]
pub struct UnknownValue {
    /// The list the value was looked up in, e.g. `category` or `keyword`.
    pub kind: &'static str,
    /// The value as given.
    pub value: String,
}

/// Declares a closed list: the enum, `ALL`, `as_str`, `Display`, `FromStr` and serde, all from one
/// table of `Variant => "API_CONSTANT"`.
macro_rules! api_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident ($kind:literal) {
            $( $(#[$vmeta:meta])* $variant:ident => $value:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $( $(#[$vmeta])* #[doc = concat!("`", $value, "`")] $variant, )+
        }

        impl $name {
            /// Every value, in the order of the API documentation.
            pub const ALL: [$name; [$($value),+].len()] = [$($name::$variant),+];

            /// The API constant, as sent and received.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $value, )+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownValue;

            /// Parses the exact API constant (case-sensitive, as the API compares).
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $( $value => Ok($name::$variant), )+
                    _ => Err(UnknownValue { kind: $kind, value: s.to_owned() }),
                }
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let s = String::deserialize(deserializer)?;
                s.parse()
                    .map_err(|_| de::Error::unknown_variant(&s, &[$($value),+]))
            }
        }
    };
}

api_enum! {
    /// `decision_visibility`: restriction of the visibility of specific items of content.
    pub enum DecisionVisibility ("decision_visibility") {
        ContentRemoved => "DECISION_VISIBILITY_CONTENT_REMOVED",
        ContentDisabled => "DECISION_VISIBILITY_CONTENT_DISABLED",
        ContentDemoted => "DECISION_VISIBILITY_CONTENT_DEMOTED",
        ContentAgeRestricted => "DECISION_VISIBILITY_CONTENT_AGE_RESTRICTED",
        ContentInteractionRestricted => "DECISION_VISIBILITY_CONTENT_INTERACTION_RESTRICTED",
        ContentLabelled => "DECISION_VISIBILITY_CONTENT_LABELLED",
        /// Requires `decision_visibility_other`.
        Other => "DECISION_VISIBILITY_OTHER",
    }
}

api_enum! {
    /// `decision_monetary`: suspension, termination or other restriction of monetary payments.
    pub enum DecisionMonetary ("decision_monetary") {
        Suspension => "DECISION_MONETARY_SUSPENSION",
        Termination => "DECISION_MONETARY_TERMINATION",
        /// Requires `decision_monetary_other`.
        Other => "DECISION_MONETARY_OTHER",
    }
}

api_enum! {
    /// `decision_provision`: suspension or termination of the provision of the service.
    pub enum DecisionProvision ("decision_provision") {
        PartialSuspension => "DECISION_PROVISION_PARTIAL_SUSPENSION",
        TotalSuspension => "DECISION_PROVISION_TOTAL_SUSPENSION",
        PartialTermination => "DECISION_PROVISION_PARTIAL_TERMINATION",
        TotalTermination => "DECISION_PROVISION_TOTAL_TERMINATION",
    }
}

api_enum! {
    /// `decision_account`: suspension or termination of the recipient's account.
    pub enum DecisionAccount ("decision_account") {
        Suspended => "DECISION_ACCOUNT_SUSPENDED",
        Terminated => "DECISION_ACCOUNT_TERMINATED",
    }
}

api_enum! {
    /// `account_type`.
    pub enum AccountType ("account_type") {
        Business => "ACCOUNT_TYPE_BUSINESS",
        Private => "ACCOUNT_TYPE_PRIVATE",
    }
}

api_enum! {
    /// `decision_ground`: illegal content, or content incompatible with the terms and conditions.
    pub enum DecisionGround ("decision_ground") {
        /// Requires `illegal_content_legal_ground` and `illegal_content_explanation`.
        IllegalContent => "DECISION_GROUND_ILLEGAL_CONTENT",
        /// Requires `incompatible_content_ground` and `incompatible_content_explanation`.
        IncompatibleContent => "DECISION_GROUND_INCOMPATIBLE_CONTENT",
    }
}

api_enum! {
    /// `content_type`.
    pub enum ContentType ("content_type") {
        App => "CONTENT_TYPE_APP",
        Audio => "CONTENT_TYPE_AUDIO",
        Image => "CONTENT_TYPE_IMAGE",
        Product => "CONTENT_TYPE_PRODUCT",
        SyntheticMedia => "CONTENT_TYPE_SYNTHETIC_MEDIA",
        Text => "CONTENT_TYPE_TEXT",
        Video => "CONTENT_TYPE_VIDEO",
        /// Requires `content_type_other`.
        Other => "CONTENT_TYPE_OTHER",
    }
}

api_enum! {
    /// `category` and `category_addition`: the 16 categories of the schema in force since
    /// 1 July 2025.
    pub enum Category ("category") {
        AnimalWelfare => "STATEMENT_CATEGORY_ANIMAL_WELFARE",
        ConsumerInformation => "STATEMENT_CATEGORY_CONSUMER_INFORMATION",
        CyberViolence => "STATEMENT_CATEGORY_CYBER_VIOLENCE",
        CyberViolenceAgainstWomen => "STATEMENT_CATEGORY_CYBER_VIOLENCE_AGAINST_WOMEN",
        DataProtectionAndPrivacyViolations => "STATEMENT_CATEGORY_DATA_PROTECTION_AND_PRIVACY_VIOLATIONS",
        IllegalOrHarmfulSpeech => "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
        IntellectualPropertyInfringements => "STATEMENT_CATEGORY_INTELLECTUAL_PROPERTY_INFRINGEMENTS",
        NegativeEffectsOnCivicDiscourseOrElections => "STATEMENT_CATEGORY_NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS",
        NotSpecifiedNotice => "STATEMENT_CATEGORY_NOT_SPECIFIED_NOTICE",
        OtherViolationTc => "STATEMENT_CATEGORY_OTHER_VIOLATION_TC",
        ProtectionOfMinors => "STATEMENT_CATEGORY_PROTECTION_OF_MINORS",
        RiskForPublicSecurity => "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY",
        ScamsAndFraud => "STATEMENT_CATEGORY_SCAMS_AND_FRAUD",
        SelfHarm => "STATEMENT_CATEGORY_SELF_HARM",
        UnsafeAndProhibitedProducts => "STATEMENT_CATEGORY_UNSAFE_AND_PROHIBITED_PRODUCTS",
        Violence => "STATEMENT_CATEGORY_VIOLENCE",
    }
}

api_enum! {
    /// `category_specification`: the 69 keywords of the schema in force since 1 July 2025.
    pub enum Keyword ("keyword") {
        AnimalHarm => "KEYWORD_ANIMAL_HARM",
        AdultSexualMaterial => "KEYWORD_ADULT_SEXUAL_MATERIAL",
        AgeSpecificRestrictions => "KEYWORD_AGE_SPECIFIC_RESTRICTIONS",
        AgeSpecificRestrictionsMinors => "KEYWORD_AGE_SPECIFIC_RESTRICTIONS_MINORS",
        BiometricDataBreach => "KEYWORD_BIOMETRIC_DATA_BREACH",
        BullyingAgainstGirls => "KEYWORD_BULLYING_AGAINST_GIRLS",
        ChildSexualAbuseMaterial => "KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL",
        ChildSexualAbuseMaterialDeepfake => "KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL_DEEPFAKE",
        ContentPromotingEatingDisorders => "KEYWORD_CONTENT_PROMOTING_EATING_DISORDERS",
        CoordinatedHarm => "KEYWORD_COORDINATED_HARM",
        CopyrightInfringement => "KEYWORD_COPYRIGHT_INFRINGEMENT",
        CyberBullyingIntimidation => "KEYWORD_CYBER_BULLYING_INTIMIDATION",
        CyberHarassment => "KEYWORD_CYBER_HARASSMENT",
        CyberHarassmentAgainstWomen => "KEYWORD_CYBER_HARASSMENT_AGAINST_WOMEN",
        CyberIncitement => "KEYWORD_CYBER_INCITEMENT",
        CyberStalking => "KEYWORD_CYBER_STALKING",
        CyberStalkingAgainstWomen => "KEYWORD_CYBER_STALKING_AGAINST_WOMEN",
        DataFalsification => "KEYWORD_DATA_FALSIFICATION",
        Defamation => "KEYWORD_DEFAMATION",
        DesignInfringement => "KEYWORD_DESIGN_INFRINGEMENT",
        Discrimination => "KEYWORD_DISCRIMINATION",
        MisinformationDisinformation => "KEYWORD_MISINFORMATION_DISINFORMATION",
        FemaleGenderedDisinformation => "KEYWORD_FEMALE_GENDERED_DISINFORMATION",
        GeographicIndicationsInfringement => "KEYWORD_GEOGRAPHIC_INDICATIONS_INFRINGEMENT",
        GeographicalRequirements => "KEYWORD_GEOGRAPHICAL_REQUIREMENTS",
        GoodsServicesNotPermitted => "KEYWORD_GOODS_SERVICES_NOT_PERMITTED",
        GroomingSexualEnticementMinors => "KEYWORD_GROOMING_SEXUAL_ENTICEMENT_MINORS",
        HateSpeech => "KEYWORD_HATE_SPEECH",
        HiddenAdvertisement => "KEYWORD_HIDDEN_ADVERTISEMENT",
        HumanExploitation => "KEYWORD_HUMAN_EXPLOITATION",
        HumanTrafficking => "KEYWORD_HUMAN_TRAFFICKING",
        IllegalOrganizations => "KEYWORD_ILLEGAL_ORGANIZATIONS",
        ImpersonationAccountHijacking => "KEYWORD_IMPERSONATION_ACCOUNT_HIJACKING",
        InauthenticAccounts => "KEYWORD_INAUTHENTIC_ACCOUNTS",
        InauthenticListings => "KEYWORD_INAUTHENTIC_LISTINGS",
        InauthenticUserReviews => "KEYWORD_INAUTHENTIC_USER_REVIEWS",
        IncitementAgainstWomen => "KEYWORD_INCITEMENT_AGAINST_WOMEN",
        IncitementViolenceHatred => "KEYWORD_INCITEMENT_VIOLENCE_HATRED",
        InsufficientInformationOnTraders => "KEYWORD_INSUFFICIENT_INFORMATION_ON_TRADERS",
        LanguageRequirements => "KEYWORD_LANGUAGE_REQUIREMENTS",
        MisleadingInfoConsumerRights => "KEYWORD_MISLEADING_INFO_CONSUMER_RIGHTS",
        MisleadingInfoGoodsServices => "KEYWORD_MISLEADING_INFO_GOODS_SERVICES",
        MissingProcessingGround => "KEYWORD_MISSING_PROCESSING_GROUND",
        NonConsensualImageSharing => "KEYWORD_NON_CONSENSUAL_IMAGE_SHARING",
        NonConsensualImageSharingAgainstWomen => "KEYWORD_NON_CONSENSUAL_IMAGE_SHARING_AGAINST_WOMEN",
        NonConsensualMaterialDeepfake => "KEYWORD_NON_CONSENSUAL_MATERIAL_DEEPFAKE",
        NonConsensualMaterialDeepfakeAgainstWomen => "KEYWORD_NON_CONSENSUAL_MATERIAL_DEEPFAKE_AGAINST_WOMEN",
        NoncompliancePricing => "KEYWORD_NONCOMPLIANCE_PRICING",
        Nudity => "KEYWORD_NUDITY",
        PatentInfringement => "KEYWORD_PATENT_INFRINGEMENT",
        Phishing => "KEYWORD_PHISHING",
        ProhibitedProducts => "KEYWORD_PROHIBITED_PRODUCTS",
        PyramidSchemes => "KEYWORD_PYRAMID_SCHEMES",
        RightToBeForgotten => "KEYWORD_RIGHT_TO_BE_FORGOTTEN",
        RiskEnvironmentalDamage => "KEYWORD_RISK_ENVIRONMENTAL_DAMAGE",
        RiskPublicHealth => "KEYWORD_RISK_PUBLIC_HEALTH",
        SelfMutilation => "KEYWORD_SELF_MUTILATION",
        Stalking => "KEYWORD_STALKING",
        Suicide => "KEYWORD_SUICIDE",
        TerroristContent => "KEYWORD_TERRORIST_CONTENT",
        TradeSecretInfringement => "KEYWORD_TRADE_SECRET_INFRINGEMENT",
        TrademarkInfringement => "KEYWORD_TRADEMARK_INFRINGEMENT",
        TraffickingWomenGirls => "KEYWORD_TRAFFICKING_WOMEN_GIRLS",
        UnlawfulSaleAnimals => "KEYWORD_UNLAWFUL_SALE_ANIMALS",
        UnsafeChallenges => "KEYWORD_UNSAFE_CHALLENGES",
        UnsafeProducts => "KEYWORD_UNSAFE_PRODUCTS",
        ViolationEuLaw => "KEYWORD_VIOLATION_EU_LAW",
        ViolationNationalLaw => "KEYWORD_VIOLATION_NATIONAL_LAW",
        /// Not captured by any other keyword; `category_specification_other` may then say what.
        Other => "KEYWORD_OTHER",
    }
}

api_enum! {
    /// `source_type`: what the decision followed, a notice or the provider's own initiative.
    pub enum SourceType ("source_type") {
        Article16 => "SOURCE_ARTICLE_16",
        TrustedFlagger => "SOURCE_TRUSTED_FLAGGER",
        OtherNotification => "SOURCE_TYPE_OTHER_NOTIFICATION",
        /// `source_identity` must then be absent.
        Voluntary => "SOURCE_VOLUNTARY",
    }
}

api_enum! {
    /// `automated_decision`: how far the decision was taken by automated means.
    pub enum AutomatedDecision ("automated_decision") {
        Fully => "AUTOMATED_DECISION_FULLY",
        Partially => "AUTOMATED_DECISION_PARTIALLY",
        NotAutomated => "AUTOMATED_DECISION_NOT_AUTOMATED",
    }
}

api_enum! {
    /// The API's `Yes`/`No` values (`automated_detection`, `incompatible_content_illegal`).
    pub enum YesNo ("Yes/No value") {
        Yes => "Yes",
        No => "No",
    }
}

impl From<bool> for YesNo {
    fn from(b: bool) -> Self {
        if b { YesNo::Yes } else { YesNo::No }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::fmt::Debug;
    use std::hash::Hash;

    use super::*;

    /// Every value survives `as_str` → `from_str` and serde both ways, and no two share a string.
    fn round_trips<T>(all: &[T], prefix: &str)
    where
        T: Copy + Eq + Hash + Debug + fmt::Display + FromStr<Err = UnknownValue>,
        T: Serialize + for<'de> Deserialize<'de>,
    {
        let mut seen = HashSet::new();
        for &value in all {
            let s = value.to_string();
            assert!(s.starts_with(prefix), "{s} should start with {prefix}");
            assert!(seen.insert(s.clone()), "{s} listed twice");
            assert_eq!(s.parse::<T>().unwrap(), value);
            let json = serde_json::to_string(&value).unwrap();
            assert_eq!(json, format!("\"{s}\""));
            assert_eq!(serde_json::from_str::<T>(&json).unwrap(), value);
        }
    }

    #[test]
    fn every_list_round_trips_with_its_api_prefix() {
        round_trips(&DecisionVisibility::ALL, "DECISION_VISIBILITY_");
        round_trips(&DecisionMonetary::ALL, "DECISION_MONETARY_");
        round_trips(&DecisionProvision::ALL, "DECISION_PROVISION_");
        round_trips(&DecisionAccount::ALL, "DECISION_ACCOUNT_");
        round_trips(&AccountType::ALL, "ACCOUNT_TYPE_");
        round_trips(&DecisionGround::ALL, "DECISION_GROUND_");
        round_trips(&ContentType::ALL, "CONTENT_TYPE_");
        round_trips(&Category::ALL, "STATEMENT_CATEGORY_");
        round_trips(&Keyword::ALL, "KEYWORD_");
        round_trips(&SourceType::ALL, "SOURCE_");
        round_trips(&AutomatedDecision::ALL, "AUTOMATED_DECISION_");
        round_trips(&YesNo::ALL, "");
    }

    #[test]
    fn list_sizes_match_the_api() {
        assert_eq!(DecisionVisibility::ALL.len(), 7);
        assert_eq!(DecisionMonetary::ALL.len(), 3);
        assert_eq!(DecisionProvision::ALL.len(), 4);
        assert_eq!(DecisionAccount::ALL.len(), 2);
        assert_eq!(AccountType::ALL.len(), 2);
        assert_eq!(DecisionGround::ALL.len(), 2);
        assert_eq!(ContentType::ALL.len(), 8);
        assert_eq!(Category::ALL.len(), 16);
        assert_eq!(Keyword::ALL.len(), 69);
        assert_eq!(SourceType::ALL.len(), 4);
        assert_eq!(AutomatedDecision::ALL.len(), 3);
        assert_eq!(YesNo::ALL.len(), 2);
    }

    #[test]
    fn named_variants_carry_the_right_constants() {
        assert_eq!(
            Category::IllegalOrHarmfulSpeech.as_str(),
            "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH"
        );
        assert_eq!(Keyword::HateSpeech.as_str(), "KEYWORD_HATE_SPEECH");
        assert_eq!(
            SourceType::OtherNotification.as_str(),
            "SOURCE_TYPE_OTHER_NOTIFICATION"
        );
        assert_eq!(YesNo::from(true), YesNo::Yes);
        assert_eq!(YesNo::from(false).as_str(), "No");
    }

    #[test]
    fn parse_errors_name_the_bad_value() {
        let err = "STATEMENT_CATEGORY_PIRACY".parse::<Category>().unwrap_err();
        assert_eq!(err.value, "STATEMENT_CATEGORY_PIRACY");
        assert_eq!(
            err.to_string(),
            "\"STATEMENT_CATEGORY_PIRACY\" is not a valid category"
        );

        let err = "keyword_hate_speech".parse::<Keyword>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "\"keyword_hate_speech\" is not a valid keyword"
        );
        // Retired keywords of the 2023 schema are refused.
        assert!("KEYWORD_MISINFORMATION".parse::<Keyword>().is_err());
        assert!(
            "STATEMENT_CATEGORY_SCOPE_OF_PLATFORM_SERVICE"
                .parse::<Category>()
                .is_err()
        );
    }

    #[test]
    fn deserialising_an_unknown_constant_fails_naming_it() {
        let err = serde_json::from_str::<Keyword>("\"KEYWORD_NOPE\"").unwrap_err();
        assert!(err.to_string().contains("KEYWORD_NOPE"), "{err}");
    }
}
