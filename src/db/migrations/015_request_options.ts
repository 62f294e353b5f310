/**
 * A request's options are stored under the keys its connector plugins' form fields name (src/connectors/forms.ts):
 * the Autodesk fields now store `role` and `teams`, which its connector reads, so the core no longer renames them.
 * Requests stored before keep their role and teams under the new keys.
 */
export const sql = `
UPDATE requests SET options = json_set(json_remove(options, '$.autodeskRole'), '$.role', json_extract(options, '$.autodeskRole'))
  WHERE json_type(options, '$.autodeskRole') IS NOT NULL;
UPDATE requests SET options = json_set(json_remove(options, '$.autodeskTeams'), '$.teams', json(json_extract(options, '$.autodeskTeams')))
  WHERE json_type(options, '$.autodeskTeams') = 'array';
`;
