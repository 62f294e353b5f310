/**
 * `jobs.failing_since`: when the job's current run of failures began (null while it is not failing). A job gives
 * up once it has been failing for `jobs.giveUpAfter` (an outage of hours), not after a count of attempts whose
 * backoff could span anything from seconds to a day; a success that only says "not yet" (an invitation still
 * pending) clears it, so only consecutive failures count.
 */
export const sql = `
ALTER TABLE jobs ADD COLUMN failing_since INTEGER;
`;
