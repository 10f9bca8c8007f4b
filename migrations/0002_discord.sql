-- What the Discord front end adds: answers to the question of the day, who belongs to which
-- server (for leaderboards), and lookups by thread.

-- An answer posted in a daily question's thread, graded against the whole question.
CREATE TABLE daily_answers (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    server_id    TEXT NOT NULL,
    local_date   TEXT NOT NULL,               -- the daily post's date
    question_id  TEXT NOT NULL,
    score        INTEGER NOT NULL,
    answered_at  TEXT NOT NULL
);
CREATE INDEX daily_answers_by_server ON daily_answers (server_id, answered_at);

-- Members who used the coach in a server; a forgotten user leaves with their row.
CREATE TABLE server_members (
    server_id  TEXT NOT NULL,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    PRIMARY KEY (server_id, user_id)
);

CREATE INDEX daily_posts_by_thread ON daily_posts (thread_id);
CREATE INDEX sessions_by_place ON sessions (place) WHERE status = 'active';
