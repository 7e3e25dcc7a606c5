-- Known-media matching: banks of PDQ hashes of media confirmed as violating, the media of cases
-- and the matches between them, and the queue of media still to be hashed and matched.
CREATE TABLE banks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    -- The policy the bank's media was confirmed under (a policy id, any version).
    policy_id TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    -- The greatest Hamming distance that counts as a match for this bank.
    match_threshold BIGINT NOT NULL,
    -- An action kind taken automatically on a match, or none.
    auto_action TEXT,
    enabled BIGINT NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL,
    created_by BIGINT REFERENCES users(id)
);

CREATE TABLE bank_entries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    bank_id BIGINT NOT NULL REFERENCES banks(id),
    -- 64 hex digits, lower case, in the reference order.
    hash TEXT NOT NULL,
    quality BIGINT,
    -- decision | import | manual
    origin TEXT NOT NULL,
    decision_id BIGINT,
    case_id BIGINT,
    -- The hash list an imported entry came from, and what it said of the entry.
    list_name TEXT,
    note TEXT,
    enabled BIGINT NOT NULL DEFAULT 1,
    added_at BIGINT NOT NULL,
    added_by BIGINT REFERENCES users(id),
    -- Set when the entry was taken out of its bank; kept, since matches refer to it.
    removed_at BIGINT,
    -- Every change moves this on, so each server's index can catch up with the others' changes.
    changed_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX bank_entries_once ON bank_entries (bank_id, hash);
CREATE INDEX bank_entries_by_change ON bank_entries (changed_at, id);

-- The hashed media of a case's subject: fetched from its URL, or sent hashed by the platform.
CREATE TABLE case_media (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id BIGINT NOT NULL REFERENCES cases(id),
    report_id BIGINT,
    media_url TEXT,
    hash TEXT NOT NULL,
    quality BIGINT,
    hashed_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX case_media_once ON case_media (case_id, hash);

CREATE TABLE media_matches (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id BIGINT NOT NULL REFERENCES cases(id),
    media_id BIGINT NOT NULL REFERENCES case_media(id),
    bank_id BIGINT NOT NULL REFERENCES banks(id),
    entry_id BIGINT NOT NULL REFERENCES bank_entries(id),
    distance BIGINT NOT NULL,
    matched_at BIGINT NOT NULL,
    -- true_positive | false_positive, once a reviewer has said
    verdict TEXT,
    verdict_by BIGINT REFERENCES users(id),
    verdict_at BIGINT
);
CREATE UNIQUE INDEX media_matches_once ON media_matches (media_id, entry_id);
CREATE INDEX media_matches_by_case ON media_matches (case_id);
CREATE INDEX media_matches_by_bank ON media_matches (bank_id, verdict);

-- Media waiting to be hashed and matched, written in intake's transaction so none is lost.
CREATE TABLE media_checks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id BIGINT NOT NULL,
    report_id BIGINT NOT NULL,
    -- One of the two: a URL to fetch, or a hash the platform computed.
    media_url TEXT,
    hash TEXT,
    -- pending | done | failed
    state TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    last_error TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX media_checks_due ON media_checks (state, next_attempt_at);

-- A decision taken by the desk itself (a bank's automatic action), not by a person.
ALTER TABLE decisions ADD COLUMN automated BIGINT NOT NULL DEFAULT 0;
