/**
 * The Autodesk budget becomes a sliding hour (see the connector's limiter): calls are counted per second in
 * which they started, so "calls in the trailing 60 minutes" is a sum over at most 3600 rows whatever the plan
 * or the volume, and a row is deleted once its second has left the hour.
 *
 * `autodesk_budget` keeps the pause, and from now on the server's own view of its window: `window_end` is its
 * X-RateLimit-Reset, `used` its count (plus our calls since), `server_limit` its X-RateLimit-Limit. A row left
 * by the fixed-window limiter reads the same way (its count until its window ends), and its count is also
 * carried into the sliding hour as if spent in the last second of that window: later than it really was,
 * so an upgrade can delay calls a little but never lets the trailing hour exceed the plan.
 */
export const sql = `
CREATE TABLE autodesk_calls (
  second  INTEGER PRIMARY KEY,  -- floor(epoch ms / 1000) of the call starts counted here
  calls   INTEGER NOT NULL
);

ALTER TABLE autodesk_budget ADD COLUMN server_limit INTEGER;

INSERT INTO autodesk_calls (second, calls)
  SELECT (window_end - 1) / 1000, used FROM autodesk_budget WHERE id = 1 AND used > 0 AND window_end > 0;
`;
