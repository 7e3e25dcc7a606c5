-- The key figures read cases by when they opened, closed and were first answered, and appeals
-- by when they were decided. Cases open at an instant are those not closed (closed_at NULL) or
-- closed after it, each range then narrowed by when they opened.
CREATE INDEX cases_by_opened ON cases (opened_at);
CREATE INDEX cases_by_closed ON cases (closed_at, opened_at);
CREATE INDEX cases_by_first_response ON cases (first_responded_at);
CREATE INDEX appeals_by_decided ON appeals (decided_at);
