-- Failed sign-ins per username, to slow down password guessing on every server at once.
CREATE TABLE sign_in_failures (
    username TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX sign_in_failures_by_user ON sign_in_failures (username, at);
