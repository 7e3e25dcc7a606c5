-- The analysts' SQL console: the views analysts query (described in src/analytics/views.rs, which
-- is their documentation) and the queries they save for their team. Times are ISO 8601 text in
-- UTC to the millisecond; flags are 0 or 1. The views show every row: the console narrows them to
-- what each analyst may see before a query runs.

CREATE VIEW analyst_cases AS
SELECT
    c.id AS case_id,
    c.subject_kind,
    c.status,
    c.priority,
    c.queue,
    c.policy_area,
    (SELECT r.source FROM reports r WHERE r.case_id = c.id ORDER BY r.id LIMIT 1) AS source,
    c.region,
    c.language,
    c.restricted_team,
    u.username AS assignee,
    c.report_count,
    strftime('%Y-%m-%dT%H:%M:%fZ', c.opened_at / 1000.0, 'unixepoch') AS opened_at,
    strftime('%Y-%m-%dT%H:%M:%fZ', c.updated_at / 1000.0, 'unixepoch') AS updated_at,
    strftime('%Y-%m-%dT%H:%M:%fZ', c.closed_at / 1000.0, 'unixepoch') AS closed_at,
    strftime('%Y-%m-%dT%H:%M:%fZ', c.first_response_due / 1000.0, 'unixepoch') AS first_response_due,
    strftime('%Y-%m-%dT%H:%M:%fZ', c.first_responded_at / 1000.0, 'unixepoch') AS first_responded_at,
    strftime('%Y-%m-%dT%H:%M:%fZ', c.resolution_due / 1000.0, 'unixepoch') AS resolution_due,
    c.first_response_breached,
    c.resolution_breached,
    c.sla_paused
FROM cases c
LEFT JOIN users u ON u.id = c.assignee_id;

CREATE VIEW analyst_reports AS
SELECT
    r.id AS report_id,
    r.case_id,
    r.source,
    r.policy_area,
    r.jurisdiction,
    strftime('%Y-%m-%dT%H:%M:%fZ', r.received_at / 1000.0, 'unixepoch') AS received_at
FROM reports r;

CREATE VIEW analyst_decisions AS
SELECT
    d.id AS decision_id,
    d.case_id,
    d.verdict,
    d.policy_area,
    d.policy_ref,
    d.state,
    d.restricts,
    json_extract(s.body, '$.decision_ground') AS dsa_ground,
    u.username AS reviewer,
    strftime('%Y-%m-%dT%H:%M:%fZ', d.decided_at / 1000.0, 'unixepoch') AS decided_at,
    a.username AS approver,
    strftime('%Y-%m-%dT%H:%M:%fZ', d.effective_at / 1000.0, 'unixepoch') AS effective_at
FROM decisions d
LEFT JOIN users u ON u.id = d.decided_by
LEFT JOIN users a ON a.id = d.approved_by
LEFT JOIN statements s ON s.decision_id = d.id;

CREATE VIEW analyst_actions AS
SELECT
    e.id AS action_id,
    e.decision_id,
    e.case_id,
    e.kind,
    e.state,
    strftime('%Y-%m-%dT%H:%M:%fZ', e.created_at / 1000.0, 'unixepoch') AS created_at,
    strftime('%Y-%m-%dT%H:%M:%fZ', e.until_at / 1000.0, 'unixepoch') AS until_at,
    strftime('%Y-%m-%dT%H:%M:%fZ', e.ended_at / 1000.0, 'unixepoch') AS ended_at
FROM enforcement_actions e;

CREATE VIEW analyst_appeals AS
SELECT
    a.id AS appeal_id,
    a.case_id,
    a.decision_id,
    a.appellant,
    a.language,
    a.state,
    a.outcome,
    u.username AS reviewer,
    strftime('%Y-%m-%dT%H:%M:%fZ', a.filed_at / 1000.0, 'unixepoch') AS filed_at,
    strftime('%Y-%m-%dT%H:%M:%fZ', a.decided_at / 1000.0, 'unixepoch') AS decided_at,
    a.new_decision_id
FROM appeals a
LEFT JOIN users u ON u.id = a.decided_by;

CREATE VIEW analyst_events AS
SELECT
    e.id AS event_id,
    e.case_id,
    e.seq,
    e.entity,
    e.kind,
    e.actor_name AS actor,
    strftime('%Y-%m-%dT%H:%M:%fZ', e.at / 1000.0, 'unixepoch') AS at,
    e.reason
FROM events e
WHERE e.case_id IS NOT NULL;

-- Queries analysts keep, each for its author and, when shared, for a team of the author's.
CREATE TABLE saved_queries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    author_id BIGINT NOT NULL REFERENCES users(id),
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    sql TEXT NOT NULL,
    team TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX saved_queries_by_author ON saved_queries (author_id, name);
CREATE INDEX saved_queries_by_team ON saved_queries (team);
