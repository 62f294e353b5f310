/**
 * A posted per-person report is found by its purpose (`person_report:<e-mail>`) whenever an item of that person
 * changes, one lookup per item change: without an index, a bulk offboarding would scan slack_messages per item.
 */
export const sql = `
CREATE INDEX slack_messages_purpose ON slack_messages (purpose);
`;
