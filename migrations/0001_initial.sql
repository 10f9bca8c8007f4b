-- design-coach schema. Times are RFC 3339 UTC text; local dates are YYYY-MM-DD text.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused after a user is forgotten
    platform      TEXT NOT NULL,              -- 'local' (terminal) or 'discord'
    external_id   TEXT NOT NULL,              -- login name or Discord user id
    display_name  TEXT NOT NULL DEFAULT '',
    timezone      TEXT,                       -- IANA name chosen by the user
    created_at    TEXT NOT NULL,
    UNIQUE (platform, external_id)
);

CREATE TABLE servers (
    id              TEXT PRIMARY KEY,         -- Discord guild id
    timezone        TEXT,                     -- the daily question's time zone
    daily_channel   TEXT,
    daily_time      TEXT,                     -- HH:MM local time
    daily_role      TEXT,
    daily_enabled   INTEGER NOT NULL DEFAULT 0,
    updated_at      TEXT NOT NULL
);

CREATE TABLE sessions (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id          INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    place            TEXT NOT NULL,           -- 'terminal', or a Discord thread id
    server_id        TEXT,                    -- Discord guild, when there is one
    question_id      TEXT NOT NULL,
    framework_id     TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('active', 'finished', 'abandoned')),
    step_index       INTEGER NOT NULL DEFAULT 0,
    step_id          TEXT NOT NULL,           -- the id of the step at step_index
    step_started_at  TEXT NOT NULL,
    started_at       TEXT NOT NULL,
    finished_at      TEXT,
    overall_score    INTEGER
);
CREATE UNIQUE INDEX sessions_one_active ON sessions (user_id, place) WHERE status = 'active';
CREATE INDEX sessions_by_user ON sessions (user_id, started_at);

-- The answer being written for a step, possibly over several messages.
CREATE TABLE step_drafts (
    session_id   INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    step_id      TEXT NOT NULL,
    text         TEXT NOT NULL DEFAULT '',
    hints_shown  INTEGER NOT NULL DEFAULT 0,
    skipped      INTEGER NOT NULL DEFAULT 0,
    seconds_used INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (session_id, step_id)
);

-- Every graded attempt; the best one per step counts.
CREATE TABLE step_answers (
    id             INTEGER PRIMARY KEY,
    session_id     INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    step_id        TEXT NOT NULL,
    attempt        INTEGER NOT NULL,
    answer         TEXT NOT NULL,
    score          INTEGER NOT NULL,
    hits           TEXT NOT NULL,             -- JSON array of rubric item ids credited
    misses         TEXT NOT NULL,             -- JSON array of rubric item ids missed
    red_flags      TEXT NOT NULL,             -- JSON array of red flag ids
    seconds_taken  INTEGER NOT NULL,
    submitted_at   TEXT NOT NULL,
    UNIQUE (session_id, step_id, attempt)
);

CREATE TABLE quiz_attempts (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    item_id      TEXT NOT NULL,
    topic        TEXT NOT NULL,
    chosen       INTEGER NOT NULL,
    correct      INTEGER NOT NULL,
    answered_at  TEXT NOT NULL
);
CREATE INDEX quiz_attempts_by_user ON quiz_attempts (user_id, answered_at);

CREATE TABLE daily_posts (
    server_id    TEXT NOT NULL,
    local_date   TEXT NOT NULL,
    question_id  TEXT NOT NULL,
    channel_id   TEXT NOT NULL,
    message_id   TEXT,
    thread_id    TEXT,
    posted_at    TEXT NOT NULL,
    PRIMARY KEY (server_id, local_date)
);

-- One row per user and local calendar day with a graded activity.
CREATE TABLE activity_days (
    user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    local_date  TEXT NOT NULL,
    PRIMARY KEY (user_id, local_date)
);

CREATE TABLE streaks (
    user_id      INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    current      INTEGER NOT NULL,
    longest      INTEGER NOT NULL,
    freezes      INTEGER NOT NULL,
    last_active  TEXT NOT NULL
);

-- Recording an attempt clears the draft for a revision, adds the time spent and restarts the
-- step clock, in the same statement: a crash leaves all of it or none.
CREATE TRIGGER step_answer_recorded AFTER INSERT ON step_answers
BEGIN
    INSERT INTO step_drafts (session_id, step_id, text, seconds_used)
        VALUES (NEW.session_id, NEW.step_id, '', NEW.seconds_taken)
        ON CONFLICT (session_id, step_id) DO UPDATE SET
            text = '', skipped = 0, seconds_used = step_drafts.seconds_used + excluded.seconds_used;
    UPDATE sessions SET step_started_at = NEW.submitted_at WHERE id = NEW.session_id;
END;
