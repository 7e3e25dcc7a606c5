CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL,
    teams TEXT NOT NULL DEFAULT '[]',
    password_hash TEXT,
    created_at BIGINT NOT NULL,
    disabled BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash TEXT NOT NULL UNIQUE,
    user_id BIGINT NOT NULL REFERENCES users(id),
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);

CREATE TABLE cases (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    subject_kind TEXT NOT NULL,
    external_id TEXT NOT NULL,
    author_id TEXT,
    status TEXT NOT NULL,
    priority BIGINT NOT NULL,
    queue TEXT NOT NULL,
    assignee_id BIGINT,
    lease_expires_at BIGINT,
    restricted_team TEXT,
    policy_area TEXT NOT NULL,
    region TEXT,
    language TEXT,
    first_response_due BIGINT NOT NULL,
    first_response_at_risk BIGINT NOT NULL,
    first_responded_at BIGINT,
    resolution_due BIGINT NOT NULL,
    resolution_at_risk BIGINT NOT NULL,
    sla_paused BIGINT NOT NULL,
    first_response_breached BIGINT NOT NULL,
    resolution_breached BIGINT NOT NULL,
    opened_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    closed_at BIGINT,
    report_count BIGINT NOT NULL,
    version BIGINT NOT NULL,
    state TEXT NOT NULL
);
CREATE UNIQUE INDEX cases_one_open_per_subject ON cases (subject_kind, external_id) WHERE status <> 'closed';
CREATE INDEX cases_by_subject ON cases (subject_kind, external_id);
-- Claims look only at cases waiting in a queue, and separately at held cases whose lease lapsed,
-- so the cases being worked never stand in the way of the next claim.
CREATE INDEX cases_claim ON cases (queue, priority, resolution_due, id) WHERE status IN ('triaged', 'reopened');
CREATE INDEX cases_leases ON cases (queue, lease_expires_at) WHERE status = 'in_review';
CREATE INDEX cases_by_author ON cases (author_id);
CREATE INDEX cases_by_assignee ON cases (assignee_id);
CREATE INDEX cases_by_status ON cases (status, queue);

CREATE TABLE reports (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id BIGINT NOT NULL REFERENCES cases(id),
    submitted_by BIGINT NOT NULL,
    idempotency_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    source TEXT NOT NULL,
    reporter_id TEXT NOT NULL,
    policy_area TEXT NOT NULL,
    jurisdiction TEXT,
    received_at BIGINT NOT NULL,
    body TEXT NOT NULL,
    response TEXT NOT NULL DEFAULT '{}'
);
CREATE UNIQUE INDEX reports_idempotency ON reports (submitted_by, idempotency_key);
CREATE INDEX reports_by_case_reporter ON reports (case_id, reporter_id);

CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id BIGINT,
    seq BIGINT NOT NULL,
    entity TEXT NOT NULL,
    kind TEXT NOT NULL,
    actor_id BIGINT,
    actor_name TEXT NOT NULL,
    at BIGINT NOT NULL,
    reason TEXT,
    payload TEXT NOT NULL
);
-- One writer per version of a case: a second concurrent append of the same step fails.
CREATE UNIQUE INDEX events_case_seq ON events (case_id, seq) WHERE case_id IS NOT NULL;
CREATE INDEX events_by_time ON events (at);

CREATE TABLE notes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id BIGINT NOT NULL REFERENCES cases(id),
    author_id BIGINT NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX notes_by_case ON notes (case_id);

CREATE TABLE consultations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id BIGINT NOT NULL REFERENCES cases(id),
    team TEXT NOT NULL,
    question TEXT NOT NULL,
    due_at BIGINT NOT NULL,
    asked_by BIGINT NOT NULL,
    asked_at BIGINT NOT NULL,
    answer TEXT,
    answered_by BIGINT,
    answered_at BIGINT
);
CREATE INDEX consultations_by_team ON consultations (team, answered_at);
CREATE INDEX consultations_by_case ON consultations (case_id);

CREATE TABLE decisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id BIGINT NOT NULL REFERENCES cases(id),
    verdict TEXT NOT NULL,
    policy_area TEXT NOT NULL,
    rationale TEXT NOT NULL,
    actions TEXT NOT NULL,
    decided_by BIGINT NOT NULL,
    decided_at BIGINT NOT NULL
);
CREATE INDEX decisions_by_case ON decisions (case_id);
