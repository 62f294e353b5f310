/**
 * Cancelling a request: its pending approval steps end `cancelled` (the cards lose their buttons and say who
 * cancelled), and an open manual task is withdrawn (`cancelled`). SQLite cannot widen a CHECK in place, so
 * both tables are rebuilt with the same columns and indexes.
 */
export const sql = `
CREATE TABLE approvals_new (
  id            INTEGER PRIMARY KEY,
  request_id    TEXT NOT NULL REFERENCES requests (id),
  app_id        TEXT NOT NULL,
  step_index    INTEGER NOT NULL,
  approvers     TEXT NOT NULL,
  fallback_to_it INTEGER NOT NULL DEFAULT 0,
  state         TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'denied', 'cancelled')),
  decided_by    TEXT,
  decided_at    INTEGER,
  reason        TEXT,
  created_at    INTEGER NOT NULL,
  UNIQUE (request_id, app_id, step_index)
);
INSERT INTO approvals_new SELECT * FROM approvals;
DROP TABLE approvals;
ALTER TABLE approvals_new RENAME TO approvals;

CREATE TABLE tasks_new (
  id                  INTEGER PRIMARY KEY,
  item_id             INTEGER NOT NULL UNIQUE,
  request_id          TEXT NOT NULL,
  app_id              TEXT NOT NULL,
  kind                TEXT NOT NULL CHECK (kind IN ('onboard', 'offboard')),
  item_json           TEXT NOT NULL,
  assignee            TEXT NOT NULL,
  state               TEXT NOT NULL CHECK (state IN ('open', 'done', 'cant_do', 'cancelled')),
  snoozed_until       INTEGER,
  reminders_sent      INTEGER NOT NULL DEFAULT 0,
  reminders_since_progress INTEGER NOT NULL DEFAULT 0,
  last_progress_at    INTEGER NOT NULL,
  last_reminder_at    INTEGER,
  message_channel     TEXT,
  message_ts          TEXT,
  escalation_channel  TEXT,
  escalation_ts       TEXT,
  escalations         INTEGER NOT NULL DEFAULT 0,
  created_at          INTEGER NOT NULL,
  updated_at          INTEGER NOT NULL,
  closed_at           INTEGER,
  closed_by           TEXT,
  note                TEXT
);
INSERT INTO tasks_new SELECT * FROM tasks;
DROP TABLE tasks;
ALTER TABLE tasks_new RENAME TO tasks;
CREATE INDEX tasks_by_assignee ON tasks (state, assignee);
CREATE INDEX tasks_by_app ON tasks (state, app_id, created_at);
`;
