/**
 * The Autodesk connector's own state: the request budget (so a restart does not reset it), the local user
 * directory (the API has no e-mail filter), invitations being waited on, and intents recorded before every
 * irreversible call (so a crash between the call and its record can never make it happen twice).
 */
export const sql = `
CREATE TABLE autodesk_budget (
  id            INTEGER PRIMARY KEY CHECK (id = 1),
  window_end    INTEGER NOT NULL,
  used          INTEGER NOT NULL,
  paused_until  INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE autodesk_directory (
  email_lc    TEXT PRIMARY KEY,
  user_id     TEXT NOT NULL UNIQUE,
  email       TEXT NOT NULL,
  status      TEXT NOT NULL,
  role        TEXT,
  seen_at     INTEGER NOT NULL
);

CREATE TABLE autodesk_directory_state (
  id            INTEGER PRIMARY KEY CHECK (id = 1),
  refreshed_at  INTEGER NOT NULL,
  size          INTEGER NOT NULL
);

CREATE TABLE autodesk_pending (
  item_id     INTEGER PRIMARY KEY,
  user_id     TEXT NOT NULL,
  invited_at  INTEGER NOT NULL
);
CREATE INDEX autodesk_pending_by_user ON autodesk_pending (user_id);

CREATE TABLE autodesk_intents (
  item_id       INTEGER PRIMARY KEY,
  user_id       TEXT NOT NULL,
  email         TEXT NOT NULL,
  action        TEXT NOT NULL CHECK (action IN ('deactivate', 'delete')),
  created_at    INTEGER NOT NULL,
  confirmed_at  INTEGER
);
`;
