//! Triage: from the facts of a case to its priority, deadlines and queue. Pure.

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::domain::case::Case;
use crate::domain::events::CaseEvent;
use crate::domain::priority::triage;
use crate::domain::report::Source;
use chrono::{DateTime, Utc};

/// A routing rule: all of its non-empty lists must match.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutingRule {
    pub queue: String,
    #[serde(default)]
    pub policy_areas: Vec<String>,
    #[serde(default)]
    pub sources: Vec<Source>,
    #[serde(default)]
    pub languages: Vec<String>,
    #[serde(default)]
    pub regions: Vec<String>,
    /// Match only restricted (`true`) or only unrestricted (`false`) cases.
    #[serde(default)]
    pub restricted: Option<bool>,
}

/// The facts routing looks at.
#[derive(Debug, Clone, Copy)]
pub struct RouteFacts<'a> {
    pub policy_area: &'a str,
    pub source: Source,
    pub language: Option<&'a str>,
    pub region: Option<&'a str>,
    pub restricted: bool,
}

fn area_matches(pattern: &str, area: &str) -> bool {
    match pattern.strip_suffix(".*") {
        Some(prefix) => {
            area == prefix
                || area
                    .strip_prefix(prefix)
                    .is_some_and(|rest| rest.starts_with('.'))
        }
        None => pattern == area,
    }
}

impl RoutingRule {
    pub fn matches(&self, f: &RouteFacts<'_>) -> bool {
        (self.policy_areas.is_empty()
            || self
                .policy_areas
                .iter()
                .any(|p| area_matches(p, f.policy_area)))
            && (self.sources.is_empty() || self.sources.contains(&f.source))
            && (self.languages.is_empty()
                || f.language
                    .is_some_and(|l| self.languages.iter().any(|x| x == l)))
            && (self.regions.is_empty()
                || f.region
                    .is_some_and(|r| self.regions.iter().any(|x| x == r)))
            && self.restricted.is_none_or(|want| want == f.restricted)
    }
}

/// The queue for a case: the first matching rule, else the default queue.
pub fn route<'a>(
    rules: &'a [RoutingRule],
    default_queue: &'a str,
    facts: &RouteFacts<'_>,
) -> &'a str {
    rules
        .iter()
        .find(|r| r.matches(facts))
        .map_or(default_queue, |r| r.queue.as_str())
}

/// Triage of a case as it stands: priority, factors, SLA targets, queue and restriction.
///
/// A case already being worked keeps its queue; only a case waiting for a claim is re-routed.
pub fn retriage(config: &Config, case: &Case, now: DateTime<Utc>) -> CaseEvent {
    let input = case.triage_input();
    let t = triage(&input, now);
    let area = config.policy_area(&case.policy_area);
    let restricted_team = area.and_then(|a| a.restricted_team.clone());
    let facts = RouteFacts {
        policy_area: &case.policy_area,
        source: input.top_source,
        language: case.language.as_deref(),
        region: case.region.as_deref(),
        restricted: restricted_team.is_some() || case.restricted_team.is_some(),
    };
    let queue = if case.queue.is_empty()
        || case.status.is_queued()
        || case.status == crate::domain::case::CaseStatus::New
    {
        route(&config.routing, &config.default_queue, &facts).to_string()
    } else {
        case.queue.clone()
    };
    CaseEvent::Triaged {
        priority: t.priority,
        score: t.score,
        factors: t.factors,
        queue,
        sla: config.sla_target(t.priority),
        restricted_team,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(area: &str, source: Source) -> RouteFacts<'_> {
        RouteFacts {
            policy_area: area,
            source,
            language: None,
            region: None,
            restricted: false,
        }
    }

    #[test]
    fn first_matching_rule_wins_and_default_catches_the_rest() {
        let c = Config::default();
        let r = |f: RouteFacts<'_>| route(&c.routing, &c.default_queue, &f).to_string();
        assert_eq!(
            r(facts("child_safety.exploitation", Source::Regulator)),
            "child_safety"
        );
        assert_eq!(r(facts("spam", Source::Regulator)), "regulatory");
        assert_eq!(r(facts("scams.financial", Source::User)), "ads_fraud");
        assert_eq!(r(facts("ip.copyright", Source::RightsHolder)), "ip");
        assert_eq!(r(facts("spam", Source::User)), "general");
        let de = RouteFacts {
            language: Some("de"),
            region: Some("DE"),
            ..facts("spam", Source::User)
        };
        assert_eq!(r(de), "dach");
        let de_only_language = RouteFacts {
            language: Some("de"),
            ..facts("spam", Source::User)
        };
        assert_eq!(
            r(de_only_language),
            "general",
            "every non-empty list must match"
        );
    }

    #[test]
    fn area_wildcards_match_whole_segments_only() {
        assert!(area_matches("ip.*", "ip.copyright"));
        assert!(area_matches("ip.*", "ip"));
        assert!(!area_matches("ip.*", "ipsum.x"));
        assert!(area_matches("spam", "spam"));
        assert!(!area_matches("spam", "spam.bots"));
    }

    #[test]
    fn restricted_rules_only_match_restricted_cases() {
        let rule = RoutingRule {
            queue: "q".into(),
            restricted: Some(true),
            ..Default::default()
        };
        assert!(!rule.matches(&facts("spam", Source::User)));
        assert!(rule.matches(&RouteFacts {
            restricted: true,
            ..facts("spam", Source::User)
        }));
    }
}
