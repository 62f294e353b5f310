/**
 * How a job tells the runner what went wrong. Anything else thrown counts as transient: retried with
 * exponential backoff until the job has been failing for `jobs.giveUpAfter` (or its attempts run out, when set).
 */

/**
 * Try again at `at` without spending an attempt: a rate limit, an invitation not accepted yet. `succeeded` says
 * the job's work went fine and simply is not finished (the invitation was read and is still pending): the failures
 * before it no longer count, so only failures in a row make the job give up.
 */
export class RetryAt extends Error {
  readonly succeeded: boolean;
  constructor(readonly at: number, reason: string, options: { succeeded?: boolean } = {}) {
    super(reason);
    this.name = 'RetryAt';
    this.succeeded = options.succeeded ?? false;
  }
}

/** Retrying cannot help (a 4xx with a message, a protected account): give up now. */
export class PermanentError extends Error {
  constructor(message: string, readonly code?: string) {
    super(message);
    this.name = 'PermanentError';
  }
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
