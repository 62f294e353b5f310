/** The one reading of a failed Slack Web API call, for every job that talks to Slack. */
import { PermanentError, RetryAt } from '../jobs/errors.js';
import type { Clock } from '../util/time.js';

/** Slack's error code (`channel_not_found`, …) of a failed call, if Slack answered with one. */
export function slackErrorCode(error: unknown): string | undefined {
  const code = (error as { data?: { error?: unknown } } | undefined)?.data?.error;
  return typeof code === 'string' ? code : undefined;
}

/** Slack's answers that retrying the same call cannot change: the message, channel or person is gone or refuses it. */
const PERMANENT = new Set([
  'channel_not_found', 'not_in_channel', 'is_archived', 'user_not_found', 'user_disabled', 'cannot_dm_bot', 'messages_tab_disabled',
  'restricted_action', 'invalid_blocks', 'msg_too_long', 'no_text', 'too_many_attachments', 'message_not_found', 'cant_update_message',
]);

/** The call's failure as the runner should see it when retrying cannot help; undefined when it might. */
export function permanentSlackError(error: unknown, what = 'Slack refused the message'): PermanentError | undefined {
  const code = slackErrorCode(error);
  return code && PERMANENT.has(code) ? new PermanentError(`${what}: ${code}`, code) : undefined;
}

/** A rate-limited Slack call is retried when Slack says, without spending an attempt. */
export async function slackCall<T>(deps: { clock: Clock }, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    const retryAfter = (error as { retryAfter?: number }).retryAfter;
    if (typeof retryAfter === 'number') throw new RetryAt(deps.clock.now() + retryAfter * 1000, `Slack rate limit: retry after ${retryAfter}s`);
    throw error;
  }
}

/** `slackCall` for a job: besides the rate limit, an answer retrying cannot change fails the job for good. */
export async function slackJobCall<T>(deps: { clock: Clock }, call: () => Promise<T>, what?: string): Promise<T> {
  try {
    return await slackCall(deps, call);
  } catch (error) {
    throw permanentSlackError(error, what) ?? error;
  }
}
