/**
 * Manual tasks: one per item of an app without an API, worked by a person (an IT admin) and reminded until
 * done. Message coordinates are stored so the task DM and its escalation can be updated after a restart.
 */
export const sql = `
CREATE TABLE tasks (
  id                  INTEGER PRIMARY KEY,
  item_id             INTEGER NOT NULL UNIQUE,
  request_id          TEXT NOT NULL,
  app_id              TEXT NOT NULL,
  kind                TEXT NOT NULL CHECK (kind IN ('onboard', 'offboard')),
  -- What the person needs to know, frozen at creation (subject, requester, approvers, role, due date).
  item_json           TEXT NOT NULL,
  assignee            TEXT NOT NULL,
  state               TEXT NOT NULL CHECK (state IN ('open', 'done', 'cant_do')),
  snoozed_until       INTEGER,
  reminders_sent      INTEGER NOT NULL DEFAULT 0,
  -- Reminders since the last sign of life (creation, reassign, snooze); escalation counts these.
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
CREATE INDEX tasks_by_assignee ON tasks (state, assignee);
CREATE INDEX tasks_by_app ON tasks (state, app_id, created_at);

-- Whose turn it is when assignees tie on open tasks.
CREATE TABLE task_rotation (
  app_id         TEXT PRIMARY KEY,
  last_assignee  TEXT NOT NULL
);
`;
