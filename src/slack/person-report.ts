/**
 * The per-person report in Slack: `/access report <@person or e-mail>`, the Report button on a finished
 * offboarding, and the report posted to the requester when an offboarding finishes, kept current (the same
 * message, updated) until every app of that person is closed.
 */
import type { AllMiddlewareArgs, BlockAction, ButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import type { KnownBlock } from '@slack/types';
import type { AppContext } from '../context.js';
import { REQUEST_JOB } from '../requests/notices.js';
import { CLOSED_PURPOSE, findReportPerson, MAX_POSTED_REPORTS, mayReadReport, OPEN_PURPOSE, personReport, type ReportPerson } from '../requests/person-report.js';
import { getRequestDetail } from '../requests/repository.js';
import { escapeMrkdwn } from '../util/mrkdwn.js';
import { personReportMessage, reportPersonName } from './blocks/person-report.js';
import { upsertMessage } from './jobs.js';


export type ReportAnswer = { text: string; blocks?: KnownBlock[] };

const USAGE = 'Type `/access report @person` (pick them from the @ list) or `/access report name@example.com`.';

/** What `/access report` was given: a mention (`<@U…|name>`), an e-mail (Slack sends `<mailto:a@b|a@b>`), or neither. */
export function parseReportTarget(rest: string): { slackId: string } | { email: string } | { error: string } {
  const text = rest.trim();
  if (text === '') return { error: `Whose report? ${USAGE}` };
  const mentioned = /^<@([UW][A-Z0-9]{2,})(?:\|[^<>]*)?>$/i.exec(text);
  if (mentioned) return { slackId: mentioned[1]!.toUpperCase() };
  const mailto = /^<mailto:([^|<>]+)(?:\|[^<>]*)?>$/i.exec(text);
  const email = (mailto ? mailto[1]! : text).trim();
  if (/^[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+$/.test(email)) return { email: email.toLowerCase() };
  return { error: `\`${escapeMrkdwn(text.slice(0, 80))}\` is neither a person nor an e-mail address. ${USAGE}` };
}

function refusal(): ReportAnswer {
  return { text: 'Only the IT admins, the approvers and assignees of an app, the person themself and whoever requested access for them can see their access report. Nothing was shown.' };
}

/** The ephemeral answer to `/access report <rest>`, for `viewer`. */
export function reportCommandAnswer(ctx: AppContext, viewer: string, rest: string): ReportAnswer {
  const target = parseReportTarget(rest);
  if ('error' in target) return { text: target.error };
  const person = findReportPerson(ctx.db, target);
  if (!person) {
    const who = 'slackId' in target ? `<@${target.slackId}>` : escapeMrkdwn(target.email);
    return { text: `I know nobody as ${who}: no Slack account I have listed and no request names them. Check the spelling, or pick them from the @ list.` };
  }
  if (!mayReadReport(ctx, viewer, person)) return refusal();
  const rendered = personReportMessage(personReport(ctx.db, ctx.config, person, ctx.clock.now()));
  return { text: rendered.text, blocks: rendered.blocks };
}

/** The people of a request, each once (by e-mail), in the order the request lists them. */
function subjectsOf(ctx: AppContext, requestId: string): ReportPerson[] {
  const detail = getRequestDetail(ctx.db, requestId);
  const people = new Map<string, ReportPerson>();
  for (const item of detail?.items ?? []) {
    const email = item.subject.email.toLowerCase();
    if (!people.has(email)) people.set(email, findReportPerson(ctx.db, { email }) ?? { slackId: item.subject.slackId, email, name: null });
  }
  return [...people.values()];
}

/** Report on a finished offboarding's status message: the report of each person in it, to the clicker alone. */
export function reportButtonAction(ctx: AppContext) {
  return async (args: SlackActionMiddlewareArgs<BlockAction<ButtonAction>> & AllMiddlewareArgs) => {
    await args.ack();
    const viewer = args.body.user.id;
    const people = subjectsOf(ctx, args.action.value ?? '');
    const allowed = people.filter((person) => mayReadReport(ctx, viewer, person)).slice(0, MAX_POSTED_REPORTS);
    const answers: ReportAnswer[] = allowed.length
      ? allowed.map((person) => {
        const rendered = personReportMessage(personReport(ctx.db, ctx.config, person, ctx.clock.now()));
        return { text: rendered.text, blocks: rendered.blocks };
      })
      : [people.length ? refusal() : { text: 'That request is no longer known to accessbot.' }];
    for (const answer of answers) {
      if (args.body.response_url) await args.respond({ response_type: 'ephemeral', replace_original: false, ...answer });
      else await args.client.chat.postMessage({ channel: viewer, ...answer });
    }
  };
}

export function registerPersonReportJobs(ctx: AppContext): void {
  ctx.runner.register(REQUEST_JOB.personReport, {
    logFields: ({ requestId }) => ({ requestId }),
    async run({ requestId, email }) {
      const request = getRequestDetail(ctx.db, requestId)?.request;
      if (!request) return;
      const closed = ctx.db.prepare('SELECT 1 FROM slack_messages WHERE request_id = ? AND purpose = ? AND recipient = ?').get(requestId, `${CLOSED_PURPOSE}${email}`, request.requesterId);
      if (closed) return;
      const person = findReportPerson(ctx.db, { email }) ?? { slackId: null, email, name: null };
      const report = personReport(ctx.db, ctx.config, person, ctx.clock.now());
      await upsertMessage(ctx, requestId, `${OPEN_PURPOSE}${email}`, request.requesterId, personReportMessage(report));
      if (report.openApps === 0) {
        ctx.db.prepare('UPDATE slack_messages SET purpose = ? WHERE request_id = ? AND purpose = ? AND recipient = ?')
          .run(`${CLOSED_PURPOSE}${email}`, requestId, `${OPEN_PURPOSE}${email}`, request.requesterId);
        ctx.log.info('person report closed: every app of the person is closed', { requestId, person: reportPersonName(report) });
      }
    },
  });
}
