/**
 * `/access report` answers in its ack, so its reads must not scan: every item about a person (by Slack id or by
 * e-mail, whatever the app) and the last audit entry of each. Without these, each report read the whole items
 * table and walked the audit table back from its newest row once per item: 0.5–2.5 s with a few thousand
 * requests stored, growing with the audit table, which is never pruned.
 */
export const sql = `
CREATE INDEX items_by_subject_slack_id ON items (subject_slack_id) WHERE subject_slack_id IS NOT NULL;
CREATE INDEX items_by_subject_email ON items (lower(subject_email));
CREATE INDEX audit_by_item ON audit (item_id, id) WHERE item_id IS NOT NULL;
`;
