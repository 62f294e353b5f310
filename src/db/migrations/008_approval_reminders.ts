/**
 * Approval reminders: how many times a pending step was reminded (its escalation to itChannel comes after
 * `approvalEscalateAfter` of them) and when IT was told, so that happens once.
 */
export const sql = `
ALTER TABLE approvals ADD COLUMN reminders_sent INTEGER NOT NULL DEFAULT 0;
ALTER TABLE approvals ADD COLUMN escalated_at INTEGER;
`;
