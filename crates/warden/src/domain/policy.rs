//! Policies: versioned rule texts a decision applies. A new version is a new document; a decision
//! names the exact `id@version` it applied, so history is never rewritten.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use utoipa::ToSchema;

use super::enforcement::ActionKind;
use super::priority::Severity;
use super::validate::Checker;
use crate::error::Error;

/// One version of one policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Stable dotted path, e.g. `community.violence.graphic`, `law.de.hate_speech`.
    pub id: String,
    pub version: i64,
    pub title: String,
    /// The day this version takes effect.
    #[schema(value_type = String, format = Date)]
    pub effective: NaiveDate,
    pub severity: Severity,
    /// The triage policy area this policy decides, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub area: Option<String>,
    pub allowed_actions: BTreeSet<ActionKind>,
    pub strike_weight: i64,
    /// Transparency Database category, e.g. `STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH`.
    pub dsa_category: String,
    /// Transparency Database keywords, e.g. `KEYWORD_HATE_SPEECH`.
    #[serde(default)]
    pub dsa_keywords: Vec<String>,
    /// For local-law policies: the country whose law this is (ISO 3166-1 alpha-2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jurisdiction: Option<String>,
    /// For local-law policies: the legal provision, e.g. `§ 130 StGB`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_ground: Option<String>,
    /// The public page of the policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_url: Option<String>,
    /// Media a violating decision under this policy confirms is banked: the subject's media
    /// hashes go into the banks tied to this policy, so copies are matched from then on.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub bank_confirmed_media: bool,
    /// The rule text, in Markdown.
    pub text: String,
}

impl Policy {
    pub fn reference(&self) -> PolicyRef {
        PolicyRef {
            id: self.id.clone(),
            version: Some(self.version),
        }
    }

    /// A local-law policy: restrictions under it are on grounds of illegality.
    pub fn is_local_law(&self) -> bool {
        self.jurisdiction.is_some()
    }

    /// Every problem with this document, named under `prefix`.
    pub fn check(&self, c: &mut Checker, known_areas: &BTreeSet<String>) {
        if !valid_policy_id(&self.id) {
            c.fail(
                "id",
                "must be a dotted path of lower-case words, e.g. community.hate_speech",
            );
        }
        if self.version < 1 {
            c.fail("version", "must be at least 1");
        }
        c.required_text("title", &self.title, 200);
        c.required_text("text", &self.text, 100_000);
        if let Some(area) = &self.area
            && !known_areas.contains(area)
        {
            c.fail("area", "is not a policy area of this desk");
        }
        if self.allowed_actions.is_empty() {
            c.fail("allowed_actions", "must allow at least one action");
        }
        if !(0..=10).contains(&self.strike_weight) {
            c.fail("strike_weight", "must be between 0 and 10");
        }
        if self.allowed_actions.contains(&ActionKind::Strike) && self.strike_weight == 0 {
            c.fail(
                "strike_weight",
                "must be positive when the policy allows strikes",
            );
        }
        if self.dsa_category.parse::<transparency::Category>().is_err() {
            c.fail(
                "dsa_category",
                "is not a Transparency Database category (STATEMENT_CATEGORY_…)",
            );
        }
        for (i, k) in self.dsa_keywords.iter().enumerate() {
            if k.parse::<transparency::Keyword>().is_err() {
                c.fail(
                    &format!("dsa_keywords[{i}]"),
                    "is not a Transparency Database keyword (KEYWORD_…)",
                );
            }
        }
        match (&self.jurisdiction, &self.legal_ground) {
            (Some(j), Some(g)) => {
                c.country("jurisdiction", j);
                c.required_text("legal_ground", g, 500);
            }
            (Some(_), None) => c.fail(
                "legal_ground",
                "is required for a local-law policy (one with a jurisdiction)",
            ),
            (None, Some(_)) => c.fail(
                "legal_ground",
                "is only for local-law policies; set jurisdiction too",
            ),
            (None, None) => {}
        }
        if let Some(u) = &self.reference_url {
            c.url("reference_url", u);
        }
    }
}

fn valid_policy_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 120
        && id.split('.').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        })
}

/// `id` or `id@version`: without a version, the version in effect at the time of use.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct PolicyRef {
    pub id: String,
    pub version: Option<i64>,
}

impl PolicyRef {
    pub fn parse(s: &str) -> Option<Self> {
        match s.split_once('@') {
            None => valid_policy_id(s).then(|| Self {
                id: s.to_string(),
                version: None,
            }),
            Some((id, v)) => {
                let version: i64 = v.parse().ok().filter(|v| *v >= 1)?;
                valid_policy_id(id).then(|| Self {
                    id: id.to_string(),
                    version: Some(version),
                })
            }
        }
    }
}

impl fmt::Display for PolicyRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.version {
            Some(v) => write!(f, "{}@{v}", self.id),
            None => f.write_str(&self.id),
        }
    }
}

/// A policy book file: every version of every policy.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyBook {
    #[serde(default)]
    pub policies: Vec<Policy>,
}

impl PolicyBook {
    pub fn from_toml(text: &str) -> Result<Self, Error> {
        let de =
            toml::Deserializer::parse(text).map_err(|e| Error::field("policies", e.to_string()))?;
        serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            Error::field(
                if path == "." { "policies".into() } else { path },
                e.into_inner().message().to_string(),
            )
        })
    }

    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_default()
    }

    /// Checks each policy and the book as a whole: `(id, version)` unique, and later versions
    /// take effect no earlier than the ones before.
    pub fn check(&self, known_areas: &BTreeSet<String>) -> Result<(), Error> {
        let mut c = Checker::new();
        let mut seen: BTreeMap<(&str, i64), usize> = BTreeMap::new();
        for (i, p) in self.policies.iter().enumerate() {
            let mut pc = Checker::with_prefix(format!("policies[{i}]"));
            p.check(&mut pc, known_areas);
            c.errors.append(&mut pc.errors);
            if seen.insert((p.id.as_str(), p.version), i).is_some() {
                c.fail(
                    &format!("policies[{i}].version"),
                    format!("{}@{} appears twice", p.id, p.version),
                );
            }
        }
        let mut by_id: BTreeMap<&str, Vec<&Policy>> = BTreeMap::new();
        for p in &self.policies {
            by_id.entry(&p.id).or_default().push(p);
        }
        for versions in by_id.values_mut() {
            versions.sort_by_key(|p| p.version);
            for w in versions.windows(2) {
                if w[1].effective < w[0].effective {
                    c.fail(
                        "policies",
                        format!(
                            "{}@{} takes effect before {}@{}",
                            w[1].id, w[1].version, w[0].id, w[0].version
                        ),
                    );
                }
            }
        }
        c.finish()
    }
}

/// The version of a policy in effect on `day`: the highest version effective by then.
pub fn in_effect(versions: &[Policy], day: NaiveDate) -> Option<&Policy> {
    versions
        .iter()
        .filter(|p| p.effective <= day)
        .max_by_key(|p| p.version)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(id: &str, version: i64, effective: &str) -> Policy {
        Policy {
            id: id.into(),
            version,
            title: "Hate speech".into(),
            effective: effective.parse().unwrap(),
            severity: Severity::High,
            area: Some("hate_speech".into()),
            allowed_actions: [ActionKind::Remove, ActionKind::Strike, ActionKind::NoAction].into(),
            strike_weight: 2,
            dsa_category: "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH".into(),
            dsa_keywords: vec!["KEYWORD_HATE_SPEECH".into()],
            jurisdiction: None,
            legal_ground: None,
            reference_url: None,
            bank_confirmed_media: false,
            text: "No attacks on people for who they are.".into(),
        }
    }

    fn areas() -> BTreeSet<String> {
        ["hate_speech".to_string()].into()
    }

    fn fields(e: Error) -> Vec<String> {
        match e {
            Error::Invalid(v) => v.into_iter().map(|f| f.field).collect(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn references_parse_with_and_without_version() {
        let r = PolicyRef::parse("law.de.hate_speech@3").unwrap();
        assert_eq!((r.id.as_str(), r.version), ("law.de.hate_speech", Some(3)));
        assert_eq!(r.to_string(), "law.de.hate_speech@3");
        assert_eq!(PolicyRef::parse("ip.copyright").unwrap().version, None);
        for bad in [
            "",
            "Ip.copyright",
            "ip..x",
            "ip.copyright@0",
            "ip.copyright@x",
            "a b",
        ] {
            assert!(PolicyRef::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn the_version_in_effect_is_the_latest_that_has_started() {
        let v = [
            policy("community.hate_speech", 1, "2025-01-01"),
            policy("community.hate_speech", 2, "2026-06-01"),
        ];
        let day = |s: &str| s.parse::<NaiveDate>().unwrap();
        assert_eq!(in_effect(&v, day("2026-05-31")).unwrap().version, 1);
        assert_eq!(in_effect(&v, day("2026-06-01")).unwrap().version, 2);
        assert!(in_effect(&v, day("2024-12-31")).is_none());
    }

    #[test]
    fn a_book_rejects_duplicates_and_effective_dates_out_of_order() {
        let book = PolicyBook {
            policies: vec![
                policy("community.hate_speech", 1, "2026-01-01"),
                policy("community.hate_speech", 1, "2026-01-01"),
                policy("community.hate_speech", 2, "2025-01-01"),
            ],
        };
        let f = fields(book.check(&areas()).unwrap_err());
        assert!(f.contains(&"policies[1].version".to_string()), "{f:?}");
        assert!(f.contains(&"policies".to_string()), "{f:?}");
    }

    #[test]
    fn local_law_needs_its_legal_ground_and_only_it_has_one() {
        let mut p = policy("law.de.hate_speech", 1, "2026-01-01");
        p.jurisdiction = Some("DE".into());
        let book = PolicyBook {
            policies: vec![p.clone()],
        };
        assert_eq!(
            fields(book.check(&areas()).unwrap_err()),
            ["policies[0].legal_ground"]
        );
        p.legal_ground = Some("§ 130 StGB".into());
        assert!(
            PolicyBook {
                policies: vec![p.clone()]
            }
            .check(&areas())
            .is_ok()
        );
        p.jurisdiction = None;
        assert_eq!(
            fields(
                PolicyBook { policies: vec![p] }
                    .check(&areas())
                    .unwrap_err()
            ),
            ["policies[0].legal_ground"]
        );
    }

    #[test]
    fn unknown_categories_keywords_and_areas_are_named() {
        let mut p = policy("community.hate_speech", 1, "2026-01-01");
        p.dsa_category = "STATEMENT_CATEGORY_NOPE".into();
        p.dsa_keywords = vec!["KEYWORD_HATE_SPEECH".into(), "KEYWORD_NOPE".into()];
        p.area = Some("nowhere".into());
        let f = fields(
            PolicyBook { policies: vec![p] }
                .check(&areas())
                .unwrap_err(),
        );
        assert_eq!(
            f,
            [
                "policies[0].area",
                "policies[0].dsa_category",
                "policies[0].dsa_keywords[1]"
            ]
        );
    }

    #[test]
    fn books_round_trip_through_toml_and_name_bad_fields() {
        let book = PolicyBook {
            policies: vec![policy("community.hate_speech", 1, "2026-01-01")],
        };
        let again = PolicyBook::from_toml(&book.to_toml()).unwrap();
        assert_eq!(again.policies, book.policies);
        let bad = book
            .to_toml()
            .replace("strike_weight = 2", "strike_weight = \"two\"");
        assert_eq!(
            fields(PolicyBook::from_toml(&bad).unwrap_err()),
            ["policies[0].strike_weight"]
        );
    }
}
