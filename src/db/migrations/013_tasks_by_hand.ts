/**
 * A failed item an IT admin chose to finish by hand becomes a task of its app, whatever its connector: the task
 * keeps what the connector tried (the item's failure detail, as mrkdwn) and who asked, so its steps can say it.
 */
export const sql = `
ALTER TABLE tasks ADD COLUMN by_hand_json TEXT;
`;
