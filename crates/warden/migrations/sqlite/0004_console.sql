-- The console: revealed media per session (the shift's exposure count) and per-user settings.
ALTER TABLE sessions ADD COLUMN exposures BIGINT NOT NULL DEFAULT 0;

CREATE TABLE user_prefs (
    user_id BIGINT PRIMARY KEY REFERENCES users(id),
    keep_greyscale BIGINT NOT NULL DEFAULT 0
);
