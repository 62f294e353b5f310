/**
 * Access that ends by itself: an onboarding item may carry the date its access ends (`end_date`, a day in the
 * config's timezone). Looked up by person and app when an extension or an offboarding may supersede it.
 */
export const sql = `
ALTER TABLE items ADD COLUMN end_date TEXT;
CREATE INDEX items_app_subject ON items (app_id, lower(subject_email));
`;
