/**
 * `item_previews`: what an approval will do, per item, as the connector read it after the request was filed
 * (issue 13 §1). Kept in SQLite so a restarted bot shows the same preview on its cards, and so the connector can
 * compare, at execution, the account it finds with the one the approvers saw. `state` is `ok` (read) or
 * `unavailable` (the app did not answer; retried a few times, never blocking approval).
 * `autodesk_directory.last_login`: the last login Autodesk listed, shown in an offboarding's preview.
 */
export const sql = `
CREATE TABLE item_previews (
  item_id     INTEGER PRIMARY KEY REFERENCES items (id),
  state       TEXT NOT NULL CHECK (state IN ('ok', 'unavailable')),
  account_id  TEXT,
  email       TEXT,
  status      TEXT,
  last_login  TEXT,
  summary     TEXT NOT NULL,
  read_at     INTEGER NOT NULL
);
ALTER TABLE autodesk_directory ADD COLUMN last_login TEXT;
`;
