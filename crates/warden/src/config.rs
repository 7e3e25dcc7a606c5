//! The desk's configuration: policy areas, SLA targets, queues and routing. Read from a TOML file;
//! without one, a built-in desk that suits a general-purpose platform.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

use crate::domain::enforcement::{ApprovalRule, StrikePolicy};
use crate::domain::priority::{Priority, Severity};
use crate::domain::reply::TemplateBook;
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
    /// The two-person rule.
    #[serde(default)]
    pub approval: ApprovalRule,
    #[serde(default)]
    pub strikes: StrikePolicy,
    #[serde(default)]
    pub delivery: DeliveryConfig,
    #[serde(default)]
    pub appeals: AppealsConfig,
    #[serde(default)]
    pub statements: StatementsConfig,
    #[serde(default)]
    pub wellness: WellnessConfig,
    #[serde(default)]
    pub limits: LimitsConfig,
    #[serde(default)]
    pub analytics: AnalyticsConfig,
    #[serde(default)]
    pub alerts: AlertsConfig,
    #[serde(default)]
    pub media: MediaConfig,
    /// A reply template file replacing the built-in templates.
    #[serde(default)]
    pub templates_file: Option<std::path::PathBuf>,
    /// The reply templates in use (from `templates_file` or built in).
    #[serde(skip, default = "builtin_templates")]
    pub templates: TemplateBook,
}

/// Where and how enforcement actions and messages are delivered to the platform.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeliveryConfig {
    /// The platform's webhook; without one, deliveries wait in the outbox.
    pub endpoint: Option<String>,
    /// The shared signing secret; `WARDEN_WEBHOOK_SECRET` in the environment overrides it.
    pub secret: Option<String>,
    /// Tries before a delivery is dead-lettered.
    pub max_attempts: i64,
    pub timeout_seconds: u64,
    /// The first retry waits about this long; each later one twice as long, up to the maximum.
    pub backoff_base_seconds: i64,
    pub backoff_max_seconds: i64,
    /// How often an idle worker looks for due deliveries.
    pub poll_interval_ms: u64,
    /// Deliveries a worker takes at a time.
    pub batch_size: i64,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        Self {
            endpoint: None,
            secret: None,
            max_attempts: 8,
            timeout_seconds: 10,
            backoff_base_seconds: 10,
            backoff_max_seconds: 3600,
            poll_interval_ms: 1000,
            batch_size: 16,
        }
    }
}

impl DeliveryConfig {
    pub fn secret(&self) -> String {
        std::env::var("WARDEN_WEBHOOK_SECRET")
            .ok()
            .filter(|s| !s.is_empty())
            .or_else(|| self.secret.clone())
            .unwrap_or_default()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AppealsConfig {
    /// Days after the decision was communicated during which it can be appealed (DSA Art. 20: at
    /// least six months).
    pub window_days: i64,
    pub queue: String,
    pub sla: SlaTarget,
    /// The out-of-court dispute settlement body named in outcome messages.
    pub out_of_court_body: String,
}

impl Default for AppealsConfig {
    fn default() -> Self {
        Self {
            window_days: 183,
            queue: "appeals".into(),
            sla: SlaTarget {
                first_response_minutes: 1440,
                resolution_minutes: 7 * 1440,
            },
            out_of_court_body: "a certified out-of-court dispute settlement body (DSA Art. 21)"
                .into(),
        }
    }
}

/// Care for the people looking at harmful material all day.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WellnessConfig {
    /// Revealed media items after which the console suggests a break (and again after as many
    /// more); 0 turns the reminder off.
    pub break_after_reveals: i64,
}

impl Default for WellnessConfig {
    fn default() -> Self {
        Self {
            break_after_reveals: 25,
        }
    }
}

/// What keeps one client from starving the others: slow senders are cut off, and each caller has a
/// token bucket of requests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Seconds a client has to send a request's headers before the connection is closed.
    pub header_read_seconds: u64,
    /// Seconds a client has to send a request's body once its headers have arrived (408 after).
    pub body_read_seconds: u64,
    /// Sustained requests per second for each API token and each console session.
    pub requests_per_second: u32,
    /// Requests one credential may send at once, after a pause.
    pub burst: u32,
    /// The same for each client address, counting requests without a credential (sign-in, health
    /// checks) and the first request of a credential not seen lately.
    pub anonymous_requests_per_second: u32,
    pub anonymous_burst: u32,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            header_read_seconds: 10,
            body_read_seconds: 30,
            // A platform integration sends hundreds of reports a second from one token.
            requests_per_second: 2000,
            burst: 4000,
            anonymous_requests_per_second: 20,
            anonymous_burst: 100,
        }
    }
}

/// The analysts' SQL console: how long one query may run and how many rows it may return.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AnalyticsConfig {
    pub statement_timeout_secs: u64,
    pub max_rows: usize,
}

impl Default for AnalyticsConfig {
    fn default() -> Self {
        Self {
            statement_timeout_secs: 10,
            max_rows: 10_000,
        }
    }
}

/// Where spike and trend alerts are announced: each new alert (except those about a restricted
/// case) is posted there through the outbox, signed like every delivery, topic `alert`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertsConfig {
    pub webhook_url: Option<String>,
}

/// Known-media matching: which reported media the desk fetches to hash, and how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MediaConfig {
    /// Hosts whose media URLs are fetched and hashed (the platform's media servers). Only these:
    /// a report's URL is the reporter's to choose, and the desk must not fetch whatever it names.
    /// Empty: no media is fetched; hashes the platform sends are matched all the same.
    pub fetch_hosts: Vec<String>,
    pub fetch_timeout_seconds: u64,
    /// Larger media is not fetched (nor hashed).
    pub max_media_bytes: u64,
    /// Tries before a fetch is given up (the case keeps its report; only the match is missed).
    pub max_attempts: i64,
    pub poll_interval_ms: u64,
}

impl Default for MediaConfig {
    fn default() -> Self {
        Self {
            fetch_hosts: Vec::new(),
            fetch_timeout_seconds: 10,
            max_media_bytes: 20 * 1024 * 1024,
            max_attempts: 5,
            poll_interval_ms: 1000,
        }
    }
}

impl MediaConfig {
    /// Whether the desk fetches media at this URL: an http(s) URL on one of the fetch hosts.
    pub fn fetches(&self, url: &str) -> bool {
        let Some(rest) = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"))
        else {
            return false;
        };
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        // A user-info part (`user@host`) would let a URL name one host and reach another.
        if authority.contains('@') {
            return false;
        }
        let host = match authority.rsplit_once(':') {
            Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) => h,
            _ => authority,
        };
        self.fetch_hosts
            .iter()
            .any(|h| h.eq_ignore_ascii_case(host))
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StatementsConfig {
    /// Prefix of the platform-unique ids of statements sent to the Transparency Database.
    pub puid_prefix: String,
}

impl Default for StatementsConfig {
    fn default() -> Self {
        Self {
            puid_prefix: "warden".into(),
        }
    }
}

/// The built-in reply templates.
pub const DEFAULT_TEMPLATES: &str = include_str!("demo_templates.toml");

fn builtin_templates() -> TemplateBook {
    // Part of the binary and covered by a test; failing here is a build defect.
    TemplateBook::from_toml(DEFAULT_TEMPLATES)
        .unwrap_or_else(|e| panic!("built-in reply templates are invalid: {e}"))
}

fn default_lease() -> i64 {
    30
}

impl Config {
    pub fn load(path: &Path) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::field("config", format!("cannot read {}: {e}", path.display())))?;
        let mut config: Config = toml::from_str(&text)
            .map_err(|e| Error::field("config", format!("{}: {e}", path.display())))?;
        if let Some(file) = &config.templates_file {
            let file = path.parent().unwrap_or(Path::new(".")).join(file);
            let text = std::fs::read_to_string(&file).map_err(|e| {
                Error::field(
                    "templates_file",
                    format!("cannot read {}: {e}", file.display()),
                )
            })?;
            config.templates = TemplateBook::from_toml(&text)?;
        }
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
        if self.queue(&self.appeals.queue).is_none() {
            errors.push(FieldError::new("appeals.queue", "names no queue"));
        }
        if self.appeals.window_days < 183 {
            errors.push(FieldError::new(
                "appeals.window_days",
                "must be at least 183 days (DSA Art. 20: six months)",
            ));
        }
        let d = &self.delivery;
        if d.max_attempts < 1 || d.batch_size < 1 || d.timeout_seconds == 0 {
            errors.push(FieldError::new(
                "delivery",
                "max_attempts, batch_size and timeout_seconds must be positive",
            ));
        }
        if d.backoff_base_seconds < 1 || d.backoff_max_seconds < d.backoff_base_seconds {
            errors.push(FieldError::new(
                "delivery.backoff_max_seconds",
                "backoff must be positive and the maximum no less than the base",
            ));
        }
        if let Some(e) = &d.endpoint
            && !(e.starts_with("http://") || e.starts_with("https://"))
        {
            errors.push(FieldError::new(
                "delivery.endpoint",
                "must be an http(s) URL",
            ));
        }
        if let Some(e) = &self.alerts.webhook_url
            && !(e.starts_with("http://") || e.starts_with("https://"))
        {
            errors.push(FieldError::new(
                "alerts.webhook_url",
                "must be an http(s) URL",
            ));
        }
        let l = &self.limits;
        if [
            l.header_read_seconds,
            l.body_read_seconds,
            u64::from(l.requests_per_second),
            u64::from(l.burst),
            u64::from(l.anonymous_requests_per_second),
            u64::from(l.anonymous_burst),
        ]
        .contains(&0)
        {
            errors.push(FieldError::new("limits", "every limit must be positive"));
        }
        if self.analytics.statement_timeout_secs == 0 || self.analytics.max_rows == 0 {
            errors.push(FieldError::new(
                "analytics",
                "statement_timeout_secs and max_rows must be positive",
            ));
        }
        if self.strikes.expiry_days < 1 {
            errors.push(FieldError::new("strikes.expiry_days", "must be positive"));
        }
        if !self
            .statements
            .puid_prefix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            || self.statements.puid_prefix.is_empty()
        {
            errors.push(FieldError::new(
                "statements.puid_prefix",
                "must be letters, digits, '-' or '_'",
            ));
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
    #[test]
    fn media_is_fetched_only_from_the_fetch_hosts() {
        let media = MediaConfig {
            fetch_hosts: vec!["cdn.example.net".into()],
            ..MediaConfig::default()
        };
        assert!(media.fetches("https://cdn.example.net/a.jpg"));
        assert!(media.fetches("http://CDN.example.net:8443/a.jpg?x=1"));
        assert!(!media.fetches("https://cdn.example.net.evil.test/a.jpg"));
        assert!(!media.fetches("https://cdn.example.net@evil.test/a.jpg"));
        assert!(!media.fetches("ftp://cdn.example.net/a.jpg"));
        assert!(!MediaConfig::default().fetches("https://cdn.example.net/a.jpg"));
    }

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

    #[test]
    fn the_built_in_limits_are_the_defaults_and_none_may_be_zero() {
        let mut c = Config::default();
        assert_eq!(c.limits, LimitsConfig::default());
        c.limits.anonymous_burst = 0;
        match c.check() {
            Err(Error::Invalid(errors)) => assert_eq!(errors[0].field, "limits"),
            other => panic!("expected invalid, got {other:?}"),
        }
    }
}
