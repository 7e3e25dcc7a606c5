//! The desk's configuration: policy areas, SLA targets, queues and routing. Read from a TOML file;
//! without one, a built-in desk that suits a general-purpose platform.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

use crate::domain::priority::{Priority, Severity};
use crate::domain::sla::SlaTarget;
use crate::error::{Error, FieldError};
use crate::triage::RoutingRule;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyArea {
    /// Stable dotted id, e.g. `scams.financial`.
    pub id: String,
    pub title: String,
    pub severity: Severity,
    /// Cases in this area are visible only to this team (e.g. child safety).
    #[serde(default)]
    pub restricted_team: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueConfig {
    pub name: String,
    pub title: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Idle minutes after which a claim lapses and the case returns to its queue.
    #[serde(default = "default_lease")]
    pub lease_minutes: i64,
    /// Targets per priority (keys P0…P4).
    pub sla: BTreeMap<Priority, SlaTarget>,
    pub policy_areas: Vec<PolicyArea>,
    pub queues: Vec<QueueConfig>,
    pub default_queue: String,
    #[serde(default)]
    pub routing: Vec<RoutingRule>,
    /// Teams that answer consultations (Legal, Public Policy, …).
    pub consultation_teams: Vec<String>,
}

fn default_lease() -> i64 {
    30
}

impl Config {
    pub fn load(path: &Path) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::field("config", format!("cannot read {}: {e}", path.display())))?;
        let config: Config = toml::from_str(&text)
            .map_err(|e| Error::field("config", format!("{}: {e}", path.display())))?;
        config.check()?;
        Ok(config)
    }

    /// Cross-checks: every priority has targets, routes point at queues that exist.
    pub fn check(&self) -> Result<(), Error> {
        let mut errors = Vec::new();
        for p in Priority::ALL {
            match self.sla.get(&p) {
                None => errors.push(FieldError::new(
                    format!("sla.{}", p.as_str()),
                    "targets are missing",
                )),
                Some(t)
                    if t.first_response_minutes <= 0
                        || t.resolution_minutes < t.first_response_minutes =>
                {
                    errors.push(FieldError::new(
                        format!("sla.{}", p.as_str()),
                        "targets must be positive and resolution no shorter than first response",
                    ))
                }
                Some(_) => {}
            }
        }
        if self.lease_minutes <= 0 {
            errors.push(FieldError::new("lease_minutes", "must be positive"));
        }
        if self.queue(&self.default_queue).is_none() {
            errors.push(FieldError::new("default_queue", "names no queue"));
        }
        for (i, r) in self.routing.iter().enumerate() {
            if self.queue(&r.queue).is_none() {
                errors.push(FieldError::new(
                    format!("routing[{i}].queue"),
                    "names no queue",
                ));
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(Error::Invalid(errors))
        }
    }

    pub fn policy_area(&self, id: &str) -> Option<&PolicyArea> {
        self.policy_areas.iter().find(|p| p.id == id)
    }

    pub fn queue(&self, name: &str) -> Option<&QueueConfig> {
        self.queues.iter().find(|q| q.name == name)
    }

    pub fn sla_target(&self, p: Priority) -> SlaTarget {
        self.sla.get(&p).copied().unwrap_or(SlaTarget {
            first_response_minutes: 60,
            resolution_minutes: 1440,
        })
    }

    pub fn lease(&self) -> chrono::Duration {
        chrono::Duration::minutes(self.lease_minutes)
    }
}

/// The built-in desk, also written out by `warden config` as a starting point.
pub const DEFAULT_CONFIG: &str = include_str!("default_config.toml");

impl Default for Config {
    fn default() -> Self {
        // The built-in file is part of the binary and covered by a test; failing here is a build defect.
        toml::from_str(DEFAULT_CONFIG)
            .unwrap_or_else(|e| panic!("built-in configuration is invalid: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_desk_is_valid() {
        let c = Config::default();
        c.check().unwrap();
        assert!(c.policy_areas.len() >= 12);
        assert!(c.policy_areas.iter().any(|p| p.restricted_team.is_some()));
    }

    #[test]
    fn a_file_that_does_not_parse_is_named_with_the_reason() {
        let path = std::env::temp_dir().join(format!("warden-config-{}.toml", std::process::id()));
        std::fs::write(&path, "lease_minutes = \"soon\"\n").unwrap();
        let err = Config::load(&path).unwrap_err();
        let _ = std::fs::remove_file(&path);
        match err {
            Error::Invalid(errors) => {
                assert_eq!(errors[0].field, "config");
                assert!(
                    errors[0].message.contains("lease_minutes"),
                    "{}",
                    errors[0].message
                );
            }
            other => panic!("expected invalid, got {other:?}"),
        }
    }

    #[test]
    fn a_route_to_a_missing_queue_is_named() {
        let mut c = Config::default();
        c.routing[0].queue = "nowhere".into();
        match c.check() {
            Err(Error::Invalid(errors)) => assert_eq!(errors[0].field, "routing[0].queue"),
            other => panic!("expected invalid, got {other:?}"),
        }
    }
}
