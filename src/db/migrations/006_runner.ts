/**
 * The job runner and the store at scale.
 *
 * - `jobs.pool`: which worker pool runs a job (Slack messages never wait behind Autodesk work); indexed with its
 *   due time so each pool finds its next job without reading the others' backlog. Rows already queued are placed
 *   by kind, the same rule as `poolOf` in src/jobs/kinds.ts.
 * - `jobs.lease_token`: a fresh token per claim; finishing, retrying and extending a lease all check it, so a claim
 *   that lost its lease (a wall-clock jump, a stalled process) cannot write over a newer one.
 * - `jobs.restarts`: how many times in a row the job was found cut off while running; a job that keeps killing the
 *   process is failed after a few, not re-run at every start for ever.
 * - `process_lock`: the one bot process that owns this database (pid, host, heartbeat).
 * - `submissions`: Slack view id -> request id, so a retried submission is recognised through a primary key
 *   instead of a scan of the audit table; filled from the audit for submissions already stored.
 * - `approvals_pending`: the approvals waiting for someone are a handful among all ever made.
 */
export const sql = `
ALTER TABLE jobs ADD COLUMN pool TEXT NOT NULL DEFAULT 'connector';
ALTER TABLE jobs ADD COLUMN lease_token TEXT;
ALTER TABLE jobs ADD COLUMN restarts INTEGER NOT NULL DEFAULT 0;
UPDATE jobs SET pool = 'slack' WHERE kind IN ('slack.send', 'slack.refresh_home', 'request.sync_messages') OR kind LIKE 'task.%';
CREATE INDEX jobs_due_by_pool ON jobs (pool, state, run_at);
CREATE INDEX jobs_settled ON jobs (updated_at) WHERE state IN ('done', 'failed', 'cancelled');
CREATE INDEX jobs_by_queue ON jobs (queue, state) WHERE queue IS NOT NULL;

CREATE TABLE process_lock (
  id            INTEGER PRIMARY KEY CHECK (id = 1),
  token         TEXT NOT NULL,
  pid           INTEGER NOT NULL,
  host          TEXT NOT NULL,
  started_at    INTEGER NOT NULL,
  heartbeat_at  INTEGER NOT NULL
);

CREATE TABLE submissions (
  submission_id  TEXT PRIMARY KEY,
  request_id     TEXT NOT NULL,
  at             INTEGER NOT NULL
);
INSERT OR IGNORE INTO submissions (submission_id, request_id, at)
  SELECT json_extract(detail, '$.submissionId'), request_id, at FROM audit
  WHERE action = 'request.submitted' AND json_extract(detail, '$.submissionId') IS NOT NULL;

CREATE INDEX approvals_pending ON approvals (created_at) WHERE state = 'pending';
CREATE INDEX seen_events_by_time ON seen_events (at);
CREATE INDEX autodesk_intents_confirmed ON autodesk_intents (confirmed_at) WHERE confirmed_at IS NOT NULL;
`;
