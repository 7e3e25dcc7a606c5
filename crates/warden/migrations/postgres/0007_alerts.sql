-- Alerts raised by the detectors over the desk's own data, and what came of them.
CREATE TABLE alerts (
    id BIGSERIAL PRIMARY KEY,
    kind TEXT NOT NULL,
    alert_key TEXT NOT NULL,
    bucket_start BIGINT NOT NULL,
    count DOUBLE PRECISION NOT NULL,
    expected DOUBLE PRECISION NOT NULL,
    typical_low BIGINT,
    typical_high BIGINT,
    score DOUBLE PRECISION NOT NULL,
    explanation TEXT NOT NULL,
    case_id BIGINT REFERENCES cases(id),
    restricted_team TEXT,
    raised_at BIGINT NOT NULL,
    acknowledged_by BIGINT REFERENCES users(id),
    acknowledged_at BIGINT,
    outcome TEXT
);
-- One alert per signal and hour, however many servers scan.
CREATE UNIQUE INDEX alerts_once ON alerts (kind, alert_key, bucket_start);
CREATE INDEX alerts_by_time ON alerts (bucket_start);
-- The detectors read the recent weeks of reports by time.
CREATE INDEX reports_by_time ON reports (received_at);
