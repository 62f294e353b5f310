/**
 * Delegation: an approver hands their approvals to someone else until a date (`/access delegate`). A decision
 * made by a delegate records whom it was made for, so the card, the audit and "one step per person" know both.
 */
export const sql = `
CREATE TABLE delegations (
  id             INTEGER PRIMARY KEY,
  delegator      TEXT NOT NULL,
  delegate       TEXT NOT NULL,
  -- What the person typed ("2026-12-24"), and the first instant after that day in the config's timezone.
  until_date     TEXT NOT NULL,
  ends_at        INTEGER NOT NULL,
  delegator_name TEXT,
  created_at     INTEGER NOT NULL,
  ended_at       INTEGER,
  ended_by       TEXT
);
-- At most one delegation per person is in force; starting a new one ends the old one in the same transaction.
CREATE UNIQUE INDEX delegations_in_force ON delegations (delegator) WHERE ended_at IS NULL;
CREATE INDEX delegations_by_delegate ON delegations (delegate) WHERE ended_at IS NULL;

ALTER TABLE approvals ADD COLUMN decided_for TEXT;
`;
