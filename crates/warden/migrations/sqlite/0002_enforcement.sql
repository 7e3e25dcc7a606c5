-- Enforcement: the policy registry, decisions with actions, strikes, statements of reasons,
-- messages, appeals, and the outbox that delivers actions and messages to the platform.

CREATE TABLE policies (
    id TEXT NOT NULL,
    version BIGINT NOT NULL,
    effective_on TEXT NOT NULL,
    doc TEXT NOT NULL,
    recorded_at BIGINT NOT NULL,
    recorded_by BIGINT,
    PRIMARY KEY (id, version)
);
CREATE INDEX policies_by_recorded ON policies (recorded_at);

-- When each person last looked at the policy registry, for "changed since you last looked".
CREATE TABLE policy_reads (
    user_id BIGINT PRIMARY KEY,
    seen_at BIGINT NOT NULL
);

ALTER TABLE decisions ADD COLUMN policy_ref TEXT;
ALTER TABLE decisions ADD COLUMN explanation TEXT;
-- awaiting_approval | effective | rejected | overturned | superseded
ALTER TABLE decisions ADD COLUMN state TEXT NOT NULL DEFAULT 'effective';
ALTER TABLE decisions ADD COLUMN approved_by BIGINT;
ALTER TABLE decisions ADD COLUMN effective_at BIGINT;
ALTER TABLE decisions ADD COLUMN restricts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE decisions ADD COLUMN account_id TEXT;
ALTER TABLE decisions ADD COLUMN approval_reasons TEXT NOT NULL DEFAULT '[]';
CREATE INDEX decisions_by_state ON decisions (state, decided_at);

CREATE TABLE enforcement_actions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    decision_id BIGINT NOT NULL REFERENCES decisions(id),
    case_id BIGINT NOT NULL REFERENCES cases(id),
    kind TEXT NOT NULL,
    spec TEXT NOT NULL,
    until_at BIGINT,
    -- held (waits for approval) | active | expired | reversed | cancelled
    state TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    ended_at BIGINT
);
CREATE INDEX enforcement_actions_by_decision ON enforcement_actions (decision_id);
CREATE INDEX enforcement_actions_expiring ON enforcement_actions (until_at) WHERE state = 'active' AND until_at IS NOT NULL;

CREATE TABLE strikes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id TEXT NOT NULL,
    decision_id BIGINT NOT NULL REFERENCES decisions(id),
    policy_ref TEXT NOT NULL,
    weight BIGINT NOT NULL,
    issued_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    removed_at BIGINT
);
CREATE INDEX strikes_by_account ON strikes (account_id);
CREATE INDEX strikes_by_decision ON strikes (decision_id);

CREATE TABLE statements (
    decision_id BIGINT PRIMARY KEY REFERENCES decisions(id),
    puid TEXT NOT NULL UNIQUE,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX statements_by_time ON statements (created_at);

CREATE TABLE messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id BIGINT NOT NULL REFERENCES cases(id),
    decision_id BIGINT,
    appeal_id BIGINT,
    report_id BIGINT,
    purpose TEXT NOT NULL,
    audience TEXT NOT NULL,
    recipient TEXT NOT NULL,
    language TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX messages_by_case ON messages (case_id);

CREATE TABLE appeals (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id BIGINT NOT NULL REFERENCES cases(id),
    decision_id BIGINT NOT NULL REFERENCES decisions(id),
    appellant TEXT NOT NULL,
    appellant_id TEXT NOT NULL,
    statement TEXT NOT NULL,
    language TEXT,
    filed_at BIGINT NOT NULL,
    state TEXT NOT NULL,
    outcome TEXT,
    rationale TEXT,
    decided_by BIGINT,
    decided_at BIGINT,
    new_decision_id BIGINT
);
-- One appeal per person and decision.
CREATE UNIQUE INDEX appeals_one_per_appellant ON appeals (decision_id, appellant, appellant_id);

-- Deliveries to the platform. Written in the transaction of what caused them; a worker takes due
-- rows under a time-limited lock, so a crashed worker's rows are taken again once it lapses.
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    case_id BIGINT,
    idempotency_key TEXT NOT NULL UNIQUE,
    payload TEXT NOT NULL,
    -- pending | failed (will retry) | delivered | dead
    state TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    locked_by TEXT,
    locked_until BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    delivered_at BIGINT
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE state IN ('pending', 'failed');
CREATE INDEX outbox_by_state ON outbox (state, id);

ALTER TABLE cases ADD COLUMN excluded_reviewer BIGINT;
