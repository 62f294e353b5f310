/** Requests, their items, approvals, the Slack messages about them, the audit trail and the job queue. */
export const sql = `
CREATE TABLE requests (
  id              TEXT PRIMARY KEY,
  kind            TEXT NOT NULL CHECK (kind IN ('onboard', 'offboard')),
  requester_id    TEXT NOT NULL,
  justification   TEXT NOT NULL,
  effective_date  TEXT NOT NULL,
  options         TEXT NOT NULL DEFAULT '{}',
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL
);
CREATE INDEX requests_by_requester ON requests (requester_id, created_at);

CREATE TABLE items (
  id                INTEGER PRIMARY KEY,
  request_id        TEXT NOT NULL REFERENCES requests (id),
  app_id            TEXT NOT NULL,
  subject_slack_id  TEXT,
  subject_email     TEXT NOT NULL,
  subject_first_name TEXT,
  subject_last_name TEXT,
  state             TEXT NOT NULL,
  step_index        INTEGER NOT NULL DEFAULT 0,
  detail            TEXT,
  external_id       TEXT,
  updated_at        INTEGER NOT NULL,
  UNIQUE (request_id, app_id, subject_email)
);
CREATE INDEX items_by_state ON items (state);

CREATE TABLE approvals (
  id            INTEGER PRIMARY KEY,
  request_id    TEXT NOT NULL REFERENCES requests (id),
  app_id        TEXT NOT NULL,
  step_index    INTEGER NOT NULL,
  approvers     TEXT NOT NULL,
  fallback_to_it INTEGER NOT NULL DEFAULT 0,
  state         TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'denied')),
  decided_by    TEXT,
  decided_at    INTEGER,
  reason        TEXT,
  created_at    INTEGER NOT NULL,
  UNIQUE (request_id, app_id, step_index)
);

CREATE TABLE slack_messages (
  id          INTEGER PRIMARY KEY,
  request_id  TEXT,
  purpose     TEXT NOT NULL,
  recipient   TEXT NOT NULL,
  channel     TEXT NOT NULL,
  ts          TEXT NOT NULL,
  content_hash TEXT,
  created_at  INTEGER NOT NULL,
  UNIQUE (request_id, purpose, recipient)
);

CREATE TABLE audit (
  id          INTEGER PRIMARY KEY,
  at          INTEGER NOT NULL,
  actor       TEXT NOT NULL,
  action      TEXT NOT NULL,
  request_id  TEXT,
  item_id     INTEGER,
  app_id      TEXT,
  from_state  TEXT,
  to_state    TEXT,
  detail      TEXT
);
CREATE INDEX audit_by_time ON audit (at);
CREATE TRIGGER audit_is_append_only_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
CREATE TRIGGER audit_is_append_only_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;

CREATE TABLE jobs (
  id            INTEGER PRIMARY KEY,
  kind          TEXT NOT NULL,
  payload       TEXT NOT NULL,
  key           TEXT,
  queue         TEXT,
  state         TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed', 'cancelled')),
  run_at        INTEGER NOT NULL,
  attempts      INTEGER NOT NULL DEFAULT 0,
  max_attempts  INTEGER,
  last_error    TEXT,
  locked_by     TEXT,
  lease_until   INTEGER,
  created_at    INTEGER NOT NULL,
  updated_at    INTEGER NOT NULL
);
CREATE INDEX jobs_due ON jobs (state, run_at);
CREATE INDEX jobs_by_key ON jobs (key, state);

CREATE TABLE seen_events (
  id          TEXT PRIMARY KEY,
  at          INTEGER NOT NULL
);
`;
