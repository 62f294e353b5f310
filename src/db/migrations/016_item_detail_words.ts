/**
 * An item's detail is stored as words (JSON, src/requests/words.ts), no longer as Slack mrkdwn. Rows written before
 * keep their mrkdwn, wrapped as one legacy part that is shown as it is (it was escaped when it was written): the
 * item's detail, what a task finishing a failed item by hand says was tried, and failure notices still queued.
 */
export const sql = `
UPDATE items SET detail = json_array(json_object('mrkdwn', detail)) WHERE detail IS NOT NULL;
UPDATE tasks SET by_hand_json = json_set(by_hand_json, '$.tried', json_array(json_object('mrkdwn', json_extract(by_hand_json, '$.tried'))))
  WHERE by_hand_json IS NOT NULL AND json_type(by_hand_json, '$.tried') = 'text';
UPDATE jobs SET payload = json_set(payload, '$.notice.detail', json_array(json_object('mrkdwn', json_extract(payload, '$.notice.detail'))))
  WHERE kind = 'request.notice' AND json_extract(payload, '$.notice.type') = 'item_failed' AND json_type(payload, '$.notice.detail') = 'text';
`;
