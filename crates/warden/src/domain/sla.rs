//! SLA clocks: two deadlines (first response, resolution) that stop while a case waits on
//! someone outside the desk (a consultation, more information) and start again when it resumes.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Targets for one priority, in minutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SlaTarget {
    pub first_response_minutes: i64,
    pub resolution_minutes: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlaClock {
    /// When this cycle of work began (case opened, or reopened).
    pub started_at: DateTime<Utc>,
    pub target: SlaTarget,
    /// Time spent paused in earlier pauses of this cycle.
    pub paused_ms: i64,
    pub paused_since: Option<DateTime<Utc>>,
    pub first_responded_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
}

/// Where a deadline stands at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeadlineState {
    OnTrack,
    /// Less than a quarter of the target is left.
    AtRisk,
    Breached,
    Met,
    Paused,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SlaView {
    pub first_response_due: DateTime<Utc>,
    pub first_response: DeadlineState,
    pub resolution_due: DateTime<Utc>,
    pub resolution: DeadlineState,
    pub paused: bool,
}

impl SlaClock {
    pub fn start(at: DateTime<Utc>, target: SlaTarget) -> Self {
        Self {
            started_at: at,
            target,
            paused_ms: 0,
            paused_since: None,
            first_responded_at: None,
            resolved_at: None,
        }
    }

    /// Paused time up to `now`, counting a pause still running.
    fn paused_until(&self, now: DateTime<Utc>) -> Duration {
        let running = self.paused_since.map(|s| (now - s).max(Duration::zero()));
        Duration::milliseconds(self.paused_ms) + running.unwrap_or_else(Duration::zero)
    }

    /// The deadlines as they stand at `now`; a running pause pushes them out.
    pub fn first_response_due(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        self.started_at
            + Duration::minutes(self.target.first_response_minutes)
            + self.paused_until(now)
    }

    pub fn resolution_due(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        self.started_at + Duration::minutes(self.target.resolution_minutes) + self.paused_until(now)
    }

    pub fn pause(&mut self, at: DateTime<Utc>) {
        if self.paused_since.is_none() {
            self.paused_since = Some(at);
        }
    }

    pub fn resume(&mut self, at: DateTime<Utc>) {
        if let Some(since) = self.paused_since.take() {
            self.paused_ms += (at - since).num_milliseconds().max(0);
        }
    }

    /// A new priority changes the targets but not when the clock started.
    pub fn retarget(&mut self, target: SlaTarget) {
        self.target = target;
    }

    pub fn respond(&mut self, at: DateTime<Utc>) {
        self.first_responded_at.get_or_insert(at);
    }

    pub fn resolve(&mut self, at: DateTime<Utc>) {
        self.respond(at);
        self.resolved_at.get_or_insert(at);
        self.resume(at);
    }

    fn state(
        &self,
        due: DateTime<Utc>,
        target_minutes: i64,
        done: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> DeadlineState {
        match done {
            Some(at) if at <= due => DeadlineState::Met,
            Some(_) => DeadlineState::Breached,
            None if now > due => DeadlineState::Breached,
            None if self.paused_since.is_some() => DeadlineState::Paused,
            None if (due - now) < Duration::minutes(target_minutes) / 4 => DeadlineState::AtRisk,
            None => DeadlineState::OnTrack,
        }
    }

    pub fn view(&self, now: DateTime<Utc>) -> SlaView {
        let fr_due = self.first_response_due(now);
        let res_due = self.resolution_due(now);
        SlaView {
            first_response_due: fr_due,
            first_response: self.state(
                fr_due,
                self.target.first_response_minutes,
                self.first_responded_at,
                now,
            ),
            resolution_due: res_due,
            resolution: self.state(
                res_due,
                self.target.resolution_minutes,
                self.resolved_at,
                now,
            ),
            paused: self.paused_since.is_some(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    const TARGET: SlaTarget = SlaTarget {
        first_response_minutes: 60,
        resolution_minutes: 240,
    };

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 5, 9, 0, 0).unwrap()
    }

    #[test]
    fn deadlines_follow_the_targets() {
        let c = SlaClock::start(t0(), TARGET);
        assert_eq!(c.first_response_due(t0()), t0() + Duration::hours(1));
        assert_eq!(c.resolution_due(t0()), t0() + Duration::hours(4));
        assert_eq!(c.view(t0()).resolution, DeadlineState::OnTrack);
    }

    #[test]
    fn at_risk_in_the_last_quarter_then_breached() {
        let c = SlaClock::start(t0(), TARGET);
        assert_eq!(
            c.view(t0() + Duration::minutes(44)).first_response,
            DeadlineState::OnTrack
        );
        assert_eq!(
            c.view(t0() + Duration::minutes(46)).first_response,
            DeadlineState::AtRisk
        );
        assert_eq!(
            c.view(t0() + Duration::minutes(61)).first_response,
            DeadlineState::Breached
        );
    }

    #[test]
    fn a_pause_stops_the_clock_and_pushes_deadlines_out() {
        let mut c = SlaClock::start(t0(), TARGET);
        c.pause(t0() + Duration::minutes(30));
        // Three hours waiting on Legal: still not breached, and shown as paused.
        let during = t0() + Duration::minutes(210);
        assert_eq!(c.view(during).resolution, DeadlineState::Paused);
        assert_eq!(
            c.resolution_due(during),
            t0() + Duration::minutes(240 + 180)
        );
        c.resume(during);
        assert_eq!(c.paused_ms, 180 * 60_000);
        assert_eq!(
            c.resolution_due(during + Duration::hours(9)),
            t0() + Duration::minutes(420)
        );
        assert_eq!(
            c.view(t0() + Duration::minutes(419)).resolution,
            DeadlineState::AtRisk
        );
        assert_eq!(
            c.view(t0() + Duration::minutes(421)).resolution,
            DeadlineState::Breached
        );
    }

    #[test]
    fn pausing_twice_or_resuming_unpaused_changes_nothing() {
        let mut c = SlaClock::start(t0(), TARGET);
        c.resume(t0() + Duration::minutes(5));
        assert_eq!(c.paused_ms, 0);
        c.pause(t0() + Duration::minutes(10));
        c.pause(t0() + Duration::minutes(20));
        c.resume(t0() + Duration::minutes(30));
        assert_eq!(c.paused_ms, 20 * 60_000);
    }

    #[test]
    fn done_in_time_is_met_and_late_is_breached_for_good() {
        let mut c = SlaClock::start(t0(), TARGET);
        c.respond(t0() + Duration::minutes(10));
        c.resolve(t0() + Duration::minutes(300));
        let v = c.view(t0() + Duration::days(3));
        assert_eq!(v.first_response, DeadlineState::Met);
        assert_eq!(v.resolution, DeadlineState::Breached);
    }
}
