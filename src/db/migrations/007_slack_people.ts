/**
 * A local copy of the workspace's Slack users, so the request form can check hundreds of people within Slack's
 * 3 seconds (see src/slack/people.ts). `fetched_at` says how old each row is; a stale row is asked again.
 */
export const sql = `
CREATE TABLE slack_people (
  id          TEXT PRIMARY KEY,
  email       TEXT,
  first_name  TEXT,
  last_name   TEXT,
  real_name   TEXT,
  is_bot      INTEGER NOT NULL DEFAULT 0,
  deleted     INTEGER NOT NULL DEFAULT 0,
  fetched_at  INTEGER NOT NULL
);
CREATE INDEX slack_people_email ON slack_people (lower(email));
`;
