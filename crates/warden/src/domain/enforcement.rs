//! Enforcement actions and the rules around them: what a policy allows, which parameters each
//! action needs, which decisions wait for a second person, and an account's strike standing.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use utoipa::ToSchema;

use super::policy::Policy;
use super::report::RiskFlag;
use super::subject::SubjectKind;
use super::validate::Checker;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    Remove,
    RestrictVisibility,
    AgeRestrict,
    Label,
    Demote,
    GeoBlock,
    Demonetise,
    Strike,
    SuspendAccount,
    DisableAccount,
    RejectAd,
    NoAction,
}

impl ActionKind {
    pub const ALL: [ActionKind; 12] = [
        Self::Remove,
        Self::RestrictVisibility,
        Self::AgeRestrict,
        Self::Label,
        Self::Demote,
        Self::GeoBlock,
        Self::Demonetise,
        Self::Strike,
        Self::SuspendAccount,
        Self::DisableAccount,
        Self::RejectAd,
        Self::NoAction,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Remove => "remove",
            Self::RestrictVisibility => "restrict_visibility",
            Self::AgeRestrict => "age_restrict",
            Self::Label => "label",
            Self::Demote => "demote",
            Self::GeoBlock => "geo_block",
            Self::Demonetise => "demonetise",
            Self::Strike => "strike",
            Self::SuspendAccount => "suspend_account",
            Self::DisableAccount => "disable_account",
            Self::RejectAd => "reject_ad",
            Self::NoAction => "no_action",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }

    /// Actions that may carry an end date and then reverse themselves.
    pub fn may_expire(self) -> bool {
        matches!(
            self,
            Self::RestrictVisibility
                | Self::AgeRestrict
                | Self::Label
                | Self::Demote
                | Self::GeoBlock
                | Self::Demonetise
                | Self::SuspendAccount
        )
    }

    /// Actions on the account rather than on the content.
    pub fn targets_account(self) -> bool {
        matches!(
            self,
            Self::Strike | Self::SuspendAccount | Self::DisableAccount
        )
    }

    /// Actions that change something on the platform (a strike is a record, not a restriction).
    pub fn is_delivered(self) -> bool {
        !matches!(self, Self::NoAction)
    }
}

/// One chosen action with its parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionSpec {
    pub kind: ActionKind,
    /// `geo_block`: the countries where the subject is blocked (ISO 3166-1 alpha-2).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub countries: Vec<String>,
    /// `label`: the text shown with the content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// When the action ends by itself; required for `suspend_account`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<DateTime<Utc>>,
}

impl ActionSpec {
    pub fn new(kind: ActionKind) -> Self {
        Self {
            kind,
            countries: Vec::new(),
            text: None,
            until: None,
        }
    }

    /// A short description for people, in English.
    pub fn describe(&self) -> String {
        self.describe_in("en")
    }

    /// A short description for the people told about it, in their language where the desk has it
    /// (de, fr, es), else English: "blocked in DE, AT until 2026-12-01 00:00 UTC".
    pub fn describe_in(&self, language: &str) -> String {
        let text = self.text.as_deref().unwrap_or("");
        let countries = self.countries.join(", ");
        let mut s = match (language, self.kind) {
            ("de", ActionKind::Remove) => "entfernt".to_string(),
            ("de", ActionKind::RestrictVisibility) => "Sichtbarkeit eingeschränkt".to_string(),
            ("de", ActionKind::AgeRestrict) => "nur für Erwachsene sichtbar".to_string(),
            ("de", ActionKind::Label) => format!("mit dem Hinweis „{text}“ versehen"),
            ("de", ActionKind::Demote) => "in Feeds und Suche herabgestuft".to_string(),
            ("de", ActionKind::GeoBlock) => format!("gesperrt in {countries}"),
            ("de", ActionKind::Demonetise) => "Monetarisierung entzogen".to_string(),
            ("de", ActionKind::Strike) => "Verwarnung für das Konto vermerkt".to_string(),
            ("de", ActionKind::SuspendAccount) => "Konto vorübergehend gesperrt".to_string(),
            ("de", ActionKind::DisableAccount) => "Konto deaktiviert".to_string(),
            ("de", ActionKind::RejectAd) => "Anzeige abgelehnt".to_string(),
            ("de", ActionKind::NoAction) => "keine Maßnahme".to_string(),
            ("fr", ActionKind::Remove) => "supprimé".to_string(),
            ("fr", ActionKind::RestrictVisibility) => "visibilité restreinte".to_string(),
            ("fr", ActionKind::AgeRestrict) => "réservé aux adultes".to_string(),
            ("fr", ActionKind::Label) => format!("signalé par la mention « {text} »"),
            ("fr", ActionKind::Demote) => "rétrogradé dans les fils et la recherche".to_string(),
            ("fr", ActionKind::GeoBlock) => format!("bloqué dans les pays suivants : {countries}"),
            ("fr", ActionKind::Demonetise) => "démonétisé".to_string(),
            ("fr", ActionKind::Strike) => "avertissement enregistré sur le compte".to_string(),
            ("fr", ActionKind::SuspendAccount) => "compte suspendu".to_string(),
            ("fr", ActionKind::DisableAccount) => "compte désactivé".to_string(),
            ("fr", ActionKind::RejectAd) => "publicité refusée".to_string(),
            ("fr", ActionKind::NoAction) => "aucune mesure".to_string(),
            ("es", ActionKind::Remove) => "eliminado".to_string(),
            ("es", ActionKind::RestrictVisibility) => "visibilidad restringida".to_string(),
            ("es", ActionKind::AgeRestrict) => "restringido a adultos".to_string(),
            ("es", ActionKind::Label) => format!("etiquetado con «{text}»"),
            ("es", ActionKind::Demote) => "relegado en los feeds y la búsqueda".to_string(),
            ("es", ActionKind::GeoBlock) => format!("bloqueado en {countries}"),
            ("es", ActionKind::Demonetise) => "desmonetizado".to_string(),
            ("es", ActionKind::Strike) => "advertencia registrada en la cuenta".to_string(),
            ("es", ActionKind::SuspendAccount) => "cuenta suspendida".to_string(),
            ("es", ActionKind::DisableAccount) => "cuenta desactivada".to_string(),
            ("es", ActionKind::RejectAd) => "anuncio rechazado".to_string(),
            ("es", ActionKind::NoAction) => "ninguna medida".to_string(),
            (_, ActionKind::Remove) => "removed".to_string(),
            (_, ActionKind::RestrictVisibility) => "visibility restricted".to_string(),
            (_, ActionKind::AgeRestrict) => "restricted to adults".to_string(),
            (_, ActionKind::Label) => format!("labelled \"{text}\""),
            (_, ActionKind::Demote) => "demoted in feeds and search".to_string(),
            (_, ActionKind::GeoBlock) => format!("blocked in {countries}"),
            (_, ActionKind::Demonetise) => "demonetised".to_string(),
            (_, ActionKind::Strike) => "a strike recorded against the account".to_string(),
            (_, ActionKind::SuspendAccount) => "account suspended".to_string(),
            (_, ActionKind::DisableAccount) => "account disabled".to_string(),
            (_, ActionKind::RejectAd) => "ad rejected".to_string(),
            (_, ActionKind::NoAction) => "no action".to_string(),
        };
        if let Some(u) = self.until {
            let until = match language {
                "de" => "bis",
                "fr" => "jusqu'au",
                "es" => "hasta el",
                _ => "until",
            };
            s.push_str(&format!(" {until} {}", u.format("%Y-%m-%d %H:%M UTC")));
        }
        s
    }
}

/// What a decision's actions may act on.
pub struct Target<'a> {
    pub subject_kind: SubjectKind,
    /// The platform's id of the account: the subject itself, or the content's author.
    pub account_id: Option<&'a str>,
}

/// Checks the chosen actions against the policy and each action's parameters; every problem
/// is named `actions[i].field`.
pub fn check_actions(
    c: &mut Checker,
    policy: &Policy,
    actions: &[ActionSpec],
    target: &Target<'_>,
    now: DateTime<Utc>,
) {
    let mut seen = BTreeSet::new();
    for (i, a) in actions.iter().enumerate() {
        let at = |f: &str| format!("actions[{i}].{f}");
        if !policy.allowed_actions.contains(&a.kind) {
            c.fail(
                &at("kind"),
                format!(
                    "{} is not allowed by {}@{}",
                    a.kind.as_str(),
                    policy.id,
                    policy.version
                ),
            );
        }
        if !seen.insert(a.kind) {
            c.fail(&at("kind"), "is chosen twice");
        }
        match a.kind {
            ActionKind::GeoBlock => {
                if a.countries.is_empty() {
                    c.fail(&at("countries"), "a geo-block needs at least one country");
                }
                let mut uniq = BTreeSet::new();
                for (j, country) in a.countries.iter().enumerate() {
                    c.country(&format!("actions[{i}].countries[{j}]"), country);
                    if !uniq.insert(country) {
                        c.fail(&format!("actions[{i}].countries[{j}]"), "is listed twice");
                    }
                }
            }
            _ if !a.countries.is_empty() => {
                c.fail(&at("countries"), "only a geo-block names countries")
            }
            _ => {}
        }
        match (a.kind, &a.text) {
            (ActionKind::Label, Some(t)) => c.required_text(&at("text"), t, 500),
            (ActionKind::Label, None) => c.fail(&at("text"), "a label needs its text"),
            (_, Some(_)) => c.fail(&at("text"), "only a label has text"),
            _ => {}
        }
        match (a.kind, a.until) {
            (ActionKind::SuspendAccount, None) => {
                c.fail(&at("until"), "a suspension needs an end date")
            }
            (k, Some(_)) if !k.may_expire() => c.fail(
                &at("until"),
                format!("{} does not end by itself", k.as_str()),
            ),
            (_, Some(u)) if u <= now => c.fail(&at("until"), "must be in the future"),
            _ => {}
        }
        if a.kind.targets_account() && target.account_id.is_none() {
            c.fail(
                &at("kind"),
                "the subject has no known account (report the author's id in the snapshot)",
            );
        }
        if a.kind == ActionKind::RejectAd && target.subject_kind != SubjectKind::Ad {
            c.fail(&at("kind"), "only an ad can be rejected");
        }
    }
    if actions.len() > 1 && seen.contains(&ActionKind::NoAction) {
        c.fail("actions", "no_action cannot be combined with other actions");
    }
}

/// Whether the actions restrict anything (and so need a statement of reasons).
pub fn restricts(actions: &[ActionSpec]) -> bool {
    actions
        .iter()
        .any(|a| !matches!(a.kind, ActionKind::NoAction | ActionKind::Strike))
}

/// The two-person rule: which decisions wait for a lead's approval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApprovalRule {
    /// Actions that always need approval.
    #[serde(default)]
    pub always: BTreeSet<ActionKind>,
    /// Actions that need approval on a high-profile account.
    #[serde(default)]
    pub high_profile: BTreeSet<ActionKind>,
    /// Any action on a restricted case needs approval.
    #[serde(default)]
    pub restricted_cases: bool,
}

impl Default for ApprovalRule {
    fn default() -> Self {
        Self {
            always: [ActionKind::DisableAccount].into(),
            high_profile: [
                ActionKind::Remove,
                ActionKind::SuspendAccount,
                ActionKind::DisableAccount,
                ActionKind::GeoBlock,
            ]
            .into(),
            restricted_cases: true,
        }
    }
}

/// Why a decision needs a second person, or an empty list when it does not.
pub fn approval_reasons(
    rule: &ApprovalRule,
    actions: &[ActionSpec],
    risk_flags: &BTreeSet<RiskFlag>,
    restricted: bool,
) -> Vec<String> {
    let mut reasons = Vec::new();
    let delivered: Vec<ActionKind> = actions
        .iter()
        .map(|a| a.kind)
        .filter(|k| k.is_delivered())
        .collect();
    for k in &delivered {
        if rule.always.contains(k) {
            reasons.push(format!("{} always needs a lead's approval", k.as_str()));
        } else if rule.high_profile.contains(k) && risk_flags.contains(&RiskFlag::HighProfile) {
            reasons.push(format!(
                "{} on a high-profile account needs a lead's approval",
                k.as_str()
            ));
        }
    }
    if rule.restricted_cases && restricted && !delivered.is_empty() {
        reasons.push("actions on a restricted case need a lead's approval".to_string());
    }
    reasons
}

/// What the next penalty for an account should be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Penalty {
    None,
    Warn,
    #[serde(rename = "suspend_1_day")]
    Suspend1Day,
    #[serde(rename = "suspend_7_days")]
    Suspend7Days,
    Disable,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StrikeThreshold {
    /// Active strike points at or above which this penalty is suggested.
    pub points: i64,
    pub penalty: Penalty,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StrikePolicy {
    /// Days after which a strike no longer counts.
    pub expiry_days: i64,
    /// Ordered by points, lowest first.
    pub thresholds: Vec<StrikeThreshold>,
}

impl Default for StrikePolicy {
    fn default() -> Self {
        let t = |points, penalty| StrikeThreshold { points, penalty };
        Self {
            expiry_days: 90,
            thresholds: vec![
                t(1, Penalty::Warn),
                t(3, Penalty::Suspend1Day),
                t(5, Penalty::Suspend7Days),
                t(8, Penalty::Disable),
            ],
        }
    }
}

impl StrikePolicy {
    pub fn expiry(&self) -> Duration {
        Duration::days(self.expiry_days)
    }
}

/// One strike on an account's record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Strike {
    pub id: i64,
    pub decision_id: i64,
    pub policy: String,
    pub weight: i64,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// Set when an appeal removed it.
    pub removed_at: Option<DateTime<Utc>>,
}

impl Strike {
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.removed_at.is_none() && self.expires_at > now
    }
}

/// An account's standing, as the decision form shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Standing {
    pub account_id: String,
    pub active_points: i64,
    pub active_strikes: Vec<Strike>,
    /// The penalty the thresholds suggest if this decision adds `adding` points.
    pub suggested_penalty: Penalty,
    pub points_after: i64,
}

/// The account's standing now, and what the thresholds suggest once `adding` points are added.
pub fn standing(
    policy: &StrikePolicy,
    account_id: &str,
    strikes: &[Strike],
    adding: i64,
    now: DateTime<Utc>,
) -> Standing {
    let active: Vec<Strike> = strikes
        .iter()
        .filter(|s| s.is_active(now))
        .cloned()
        .collect();
    let points: i64 = active.iter().map(|s| s.weight).sum();
    let after = points + adding;
    let suggested = policy
        .thresholds
        .iter()
        .filter(|t| after >= t.points)
        .max_by_key(|t| t.points)
        .map_or(Penalty::None, |t| t.penalty);
    Standing {
        account_id: account_id.to_string(),
        active_points: points,
        active_strikes: active,
        suggested_penalty: suggested,
        points_after: after,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::priority::Severity;
    use crate::error::Error;

    fn policy(allowed: &[ActionKind]) -> Policy {
        Policy {
            id: "community.hate_speech".into(),
            version: 2,
            title: "Hate speech".into(),
            effective: "2026-01-01".parse().unwrap(),
            severity: Severity::High,
            area: None,
            allowed_actions: allowed.iter().copied().collect(),
            strike_weight: 2,
            dsa_category: "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH".into(),
            dsa_keywords: vec![],
            jurisdiction: None,
            legal_ground: None,
            reference_url: None,
            bank_confirmed_media: false,
            text: "…".into(),
        }
    }

    fn now() -> DateTime<Utc> {
        "2026-11-23T10:00:00Z".parse().unwrap()
    }

    fn problems(actions: &[ActionSpec], kind: SubjectKind, account: Option<&str>) -> Vec<String> {
        let mut c = Checker::new();
        let p = policy(&ActionKind::ALL);
        check_actions(
            &mut c,
            &p,
            actions,
            &Target {
                subject_kind: kind,
                account_id: account,
            },
            now(),
        );
        match c.finish() {
            Ok(()) => vec![],
            Err(Error::Invalid(v)) => v.into_iter().map(|f| f.field).collect(),
            Err(e) => panic!("{e:?}"),
        }
    }

    #[test]
    fn an_action_the_policy_does_not_allow_is_named() {
        let mut c = Checker::new();
        let p = policy(&[ActionKind::Remove, ActionKind::NoAction]);
        let target = Target {
            subject_kind: SubjectKind::Post,
            account_id: Some("u1"),
        };
        let actions = [
            ActionSpec::new(ActionKind::Remove),
            ActionSpec::new(ActionKind::Demote),
        ];
        check_actions(&mut c, &p, &actions, &target, now());
        assert_eq!(c.errors.len(), 1);
        assert_eq!(c.errors[0].field, "actions[1].kind");
        assert!(c.errors[0].message.contains("community.hate_speech@2"));
    }

    #[test]
    fn parameters_are_required_where_they_matter_and_refused_elsewhere() {
        let post = SubjectKind::Post;
        assert_eq!(
            problems(&[ActionSpec::new(ActionKind::GeoBlock)], post, None),
            ["actions[0].countries"]
        );
        let mut geo = ActionSpec::new(ActionKind::GeoBlock);
        geo.countries = vec!["DE".into(), "de".into(), "DE".into()];
        assert_eq!(
            problems(&[geo], post, None),
            ["actions[0].countries[1]", "actions[0].countries[2]"]
        );
        assert_eq!(
            problems(
                &[ActionSpec::new(ActionKind::SuspendAccount)],
                post,
                Some("u1")
            ),
            ["actions[0].until"]
        );
        let mut past = ActionSpec::new(ActionKind::SuspendAccount);
        past.until = Some(now() - Duration::hours(1));
        assert_eq!(problems(&[past], post, Some("u1")), ["actions[0].until"]);
        let mut forever = ActionSpec::new(ActionKind::Remove);
        forever.until = Some(now() + Duration::days(1));
        assert_eq!(problems(&[forever], post, None), ["actions[0].until"]);
        assert_eq!(
            problems(&[ActionSpec::new(ActionKind::Label)], post, None),
            ["actions[0].text"]
        );
        assert_eq!(
            problems(&[ActionSpec::new(ActionKind::Strike)], post, None),
            ["actions[0].kind"]
        );
        assert_eq!(
            problems(&[ActionSpec::new(ActionKind::RejectAd)], post, None),
            ["actions[0].kind"]
        );
        assert!(
            problems(
                &[ActionSpec::new(ActionKind::RejectAd)],
                SubjectKind::Ad,
                None
            )
            .is_empty()
        );
        assert_eq!(
            problems(
                &[
                    ActionSpec::new(ActionKind::NoAction),
                    ActionSpec::new(ActionKind::Remove)
                ],
                post,
                None
            ),
            ["actions"]
        );
        let mut suspend = ActionSpec::new(ActionKind::SuspendAccount);
        suspend.until = Some(now() + Duration::days(1));
        assert!(problems(&[suspend], post, Some("u1")).is_empty());
    }

    #[test]
    fn actions_are_described_in_the_reader_s_language() {
        let mut geo = ActionSpec::new(ActionKind::GeoBlock);
        geo.countries = vec!["DE".into(), "AT".into()];
        geo.until = Some(now() + Duration::days(1));
        assert_eq!(
            geo.describe(),
            "blocked in DE, AT until 2026-11-24 10:00 UTC"
        );
        assert_eq!(
            geo.describe_in("de"),
            "gesperrt in DE, AT bis 2026-11-24 10:00 UTC"
        );
        assert_eq!(
            ActionSpec::new(ActionKind::Remove).describe_in("fr"),
            "supprimé"
        );
        assert_eq!(
            ActionSpec::new(ActionKind::Remove).describe_in("pt"),
            "removed"
        );
    }

    #[test]
    fn strikes_do_not_restrict_but_removals_do() {
        assert!(!restricts(&[ActionSpec::new(ActionKind::NoAction)]));
        assert!(!restricts(&[ActionSpec::new(ActionKind::Strike)]));
        assert!(restricts(&[
            ActionSpec::new(ActionKind::Strike),
            ActionSpec::new(ActionKind::Label)
        ]));
    }

    #[test]
    fn the_two_person_rule_names_its_reasons() {
        let rule = ApprovalRule::default();
        let none = BTreeSet::new();
        let hp: BTreeSet<RiskFlag> = [RiskFlag::HighProfile].into();
        let remove = [ActionSpec::new(ActionKind::Remove)];
        assert!(approval_reasons(&rule, &remove, &none, false).is_empty());
        assert_eq!(approval_reasons(&rule, &remove, &hp, false).len(), 1);
        assert_eq!(
            approval_reasons(
                &rule,
                &[ActionSpec::new(ActionKind::DisableAccount)],
                &none,
                false
            )
            .len(),
            1
        );
        assert_eq!(approval_reasons(&rule, &remove, &none, true).len(), 1);
        let nothing = [ActionSpec::new(ActionKind::NoAction)];
        assert!(approval_reasons(&rule, &nothing, &hp, true).is_empty());
    }

    #[test]
    fn standing_counts_active_strikes_and_suggests_the_next_penalty() {
        let p = StrikePolicy::default();
        let strike = |weight, days_ago: i64, removed: bool| Strike {
            id: 1,
            decision_id: 1,
            policy: "community.hate_speech@2".into(),
            weight,
            issued_at: now() - Duration::days(days_ago),
            expires_at: now() - Duration::days(days_ago) + p.expiry(),
            removed_at: removed.then(now),
        };
        let record = [
            strike(2, 10, false),
            strike(2, 100, false),
            strike(3, 5, true),
        ];
        let s = standing(&p, "u1", &record, 0, now());
        assert_eq!((s.active_points, s.active_strikes.len()), (2, 1));
        assert_eq!(s.suggested_penalty, Penalty::Warn);
        assert_eq!(
            standing(&p, "u1", &record, 1, now()).suggested_penalty,
            Penalty::Suspend1Day
        );
        assert_eq!(
            standing(&p, "u1", &record, 3, now()).suggested_penalty,
            Penalty::Suspend7Days
        );
        assert_eq!(
            standing(&p, "u1", &record, 6, now()).suggested_penalty,
            Penalty::Disable
        );
        assert_eq!(
            standing(&p, "u1", &[], 0, now()).suggested_penalty,
            Penalty::None
        );
    }
}
