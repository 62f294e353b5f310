/**
 * How a job tells the runner what went wrong. Anything else thrown counts as transient: retried with
 * exponential backoff until the job's attempts run out.
 */

/** Try again at `at` without spending an attempt: a rate limit, an invitation not accepted yet. */
export class RetryAt extends Error {
  constructor(readonly at: number, reason: string) {
    super(reason);
    this.name = 'RetryAt';
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
