/**
 * Block Kit for manual tasks: pure functions from a plain description of the task to Slack JSON, so each
 * can be checked without Slack. Buttons carry only the task id; the action_id carries it too, because one
 * Home tab lists many tasks and Slack rejects a view with duplicate action_ids.
 */
import type { ActionsBlock, Button, KnownBlock, ModalView, SectionBlock } from '@slack/types';
import { escapeMrkdwn, joinMrkdwn, link, mention, mrkdwn, quoteLines, splitMrkdwn, type Mrkdwn } from '../../util/mrkdwn.js';

export interface TaskCard {
  taskId: number;
  requestId: string;
  appName: string;
  kind: 'onboard' | 'offboard';
  /** A mention, or "Name (email)" escaped (`subjectLabel`). */
  subject: Mrkdwn;
  email: string;
  role?: string;
  requesterId: string;
  approvedBy: string[];
  dueDate: string;
  /** As the requester wrote it: shown escaped, whole. */
  justification: string;
  /** The operator's steps with the item's values escaped in (`stepsFor`). */
  steps: Mrkdwn[];
  assignee: string;
  state: 'open' | 'done' | 'cant_do' | 'cancelled';
  /** Pre-formatted in the company's timezone. */
  createdAtText: string;
  ageText: string;
  snoozedUntilText?: string;
  closedBy?: string;
  closedAtText?: string;
  /** As the assignee wrote it (a done note, a can't-do reason): shown escaped. */
  note?: string;
  /** A failed item finished by hand: what the app's connector tried, and who chose to finish it by hand. */
  byHand?: { tried: Mrkdwn; askedBy: string };
}

/** Prefixes of action_ids; listeners match them with regexes (`/^task_done:/`). */
export const TASK_ACTION = {
  done: 'task_done',
  reassign: 'task_reassign',
  snooze: 'task_snooze',
  cantDo: 'task_cant_do',
  more: 'task_more',
} as const;

export const TASK_VIEW = {
  doneNote: 'task_done_note',
  reassign: 'task_reassign',
  snooze: 'task_snooze',
  cantDo: 'task_cant_do',
} as const;

/** block_id = action_id in modals, as in the request modal. */
export const TASK_INPUT = { note: 'note', assignee: 'assignee', snoozeDate: 'snooze_date', snoozeTime: 'snooze_time', reason: 'reason' } as const;

const SECTION_MAX = 3000;

/** Text we know is short; should it ever be longer it is cut visibly at a safe place, never rejected by Slack. */
function clip(text: Mrkdwn, max = SECTION_MAX): Mrkdwn {
  return text.length <= max ? text : mrkdwn`${splitMrkdwn(text, max - 1)[0]!}…`;
}

function section(text: Mrkdwn, blockId?: string): SectionBlock {
  return { type: 'section', text: { type: 'mrkdwn', text: clip(text) }, ...(blockId ? { block_id: blockId } : {}) };
}

function verb(kind: TaskCard['kind']): Mrkdwn {
  return kind === 'onboard' ? mrkdwn`Onboard` : mrkdwn`Offboard`;
}

/** "Onboard @ana to Figma" */
export function taskTitle(card: Pick<TaskCard, 'kind' | 'subject' | 'appName'>): Mrkdwn {
  return mrkdwn`${verb(card.kind)} ${card.subject} ${card.kind === 'onboard' ? mrkdwn`to` : mrkdwn`from`} ${escapeMrkdwn(card.appName)}`;
}

function button(text: string, actionId: string, taskId: number, style?: 'primary' | 'danger'): Button {
  return { type: 'button', text: { type: 'plain_text', text }, action_id: `${actionId}:${taskId}`, value: String(taskId), ...(style ? { style } : {}) };
}

/** Mark done / Reassign / Snooze / Can't do, plus "done with a note" in an overflow so one click still finishes. */
export function taskButtons(taskId: number, blockId = `task_actions:${taskId}`): ActionsBlock {
  return {
    type: 'actions',
    block_id: blockId,
    elements: [
      button('Mark done', TASK_ACTION.done, taskId, 'primary'),
      button('Reassign', TASK_ACTION.reassign, taskId),
      button('Snooze', TASK_ACTION.snooze, taskId),
      button("Can't do", TASK_ACTION.cantDo, taskId, 'danger'),
      {
        type: 'overflow',
        action_id: `${TASK_ACTION.more}:${taskId}`,
        options: [{ text: { type: 'plain_text', text: 'Mark done with a note…' }, value: String(taskId) }],
      },
    ],
  };
}

function detailsText(card: TaskCard): Mrkdwn {
  const approvers = card.approvedBy.length ? joinMrkdwn(card.approvedBy.map(mention), ', ') : mrkdwn`nobody recorded`;
  return joinMrkdwn([
    mrkdwn`*Who:* ${card.subject} (${escapeMrkdwn(card.email)})`,
    mrkdwn`*What:* ${card.kind === 'onboard' ? mrkdwn`give access to` : mrkdwn`remove access from`} *${escapeMrkdwn(card.appName)}*`,
    mrkdwn`*Role:* ${escapeMrkdwn(card.role ?? 'not specified')}`,
    mrkdwn`*Asked by:* ${mention(card.requesterId)}  ·  *Approved by:* ${approvers}`,
    mrkdwn`*Due:* ${escapeMrkdwn(card.dueDate)}  ·  *Request:* ${escapeMrkdwn(card.requestId)}`,
  ], '\n');
}

/** The justification whole, quoted, over as many sections as it needs. */
function whySections(card: TaskCard): SectionBlock[] {
  if (!card.justification) return [];
  const pieces = splitMrkdwn(mrkdwn`*Why:*\n${quoteLines(escapeMrkdwn(card.justification))}`, SECTION_MAX - 1);
  return pieces.map((piece, i) => section(i === 0 || piece.startsWith('>') ? piece : mrkdwn`>${piece}`, i === 0 ? 'task_why' : `task_why:${i}`));
}

function stepsText(steps: readonly Mrkdwn[]): Mrkdwn {
  return mrkdwn`*Steps*\n${joinMrkdwn(steps.map((step, i) => mrkdwn`${i + 1}. ${step}`), '\n')}`;
}

function byHandText(card: TaskCard): Mrkdwn {
  const { tried, askedBy } = card.byHand!;
  return mrkdwn`*Tried:* the ${escapeMrkdwn(card.appName)} connector could not finish it: ${tried}\n*Left:* the steps below, by hand (${mention(askedBy)} chose to finish it by hand). Marking this done completes the request's item.`;
}

function statusText(card: TaskCard): Mrkdwn {
  const by = mention(card.closedBy ?? '');
  const at = escapeMrkdwn(card.closedAtText ?? '');
  if (card.state === 'done') return mrkdwn`:white_check_mark: Done by ${by} on ${at}${card.note ? mrkdwn`: “${escapeMrkdwn(card.note)}”` : mrkdwn``}`;
  if (card.state === 'cant_do') return mrkdwn`:x: ${by} could not do it (${at}): “${escapeMrkdwn(card.note ?? '')}”. The requester has been told.`;
  if (card.state === 'cancelled') return mrkdwn`:no_entry_sign: Withdrawn on ${at}: ${by} cancelled the request. Nothing to do.`;
  const snooze = card.snoozedUntilText ? mrkdwn`  ·  :zzz: snoozed until ${escapeMrkdwn(card.snoozedUntilText)}` : mrkdwn``;
  return mrkdwn`Assigned to ${mention(card.assignee)} on ${escapeMrkdwn(card.createdAtText)}${snooze}`;
}

/** The task DM: buttons while open; once closed, who closed it and when, and no buttons. */
export function taskMessage(card: TaskCard): { text: string; blocks: KnownBlock[] } {
  const title = mrkdwn`Task #${card.taskId}: ${taskTitle(card)}`;
  const blocks: KnownBlock[] = [
    section(mrkdwn`*${title}*`, 'task_title'),
    section(detailsText(card), 'task_details'),
    ...whySections(card),
    ...(card.byHand ? [section(byHandText(card), 'task_by_hand')] : []),
    section(stepsText(card.steps), 'task_steps'),
    // A note may be long once escaped: it is split, never cut.
    ...splitMrkdwn(statusText(card), SECTION_MAX).map((text, i): KnownBlock => ({ type: 'context', block_id: i === 0 ? 'task_status' : `task_status:${i}`, elements: [{ type: 'mrkdwn', text }] })),
  ];
  if (card.state === 'open') blocks.push(taskButtons(card.taskId));
  const prefix = { open: mrkdwn``, done: mrkdwn`Done: `, cant_do: mrkdwn`Couldn't be done: `, cancelled: mrkdwn`Withdrawn: ` }[card.state];
  return { text: mrkdwn`${prefix}${title}`, blocks };
}

/** The old DM of a reassigned task: it stays readable but can no longer be acted on. */
export function handedOverMessage(card: TaskCard, to: string, by: string, atText: string): { text: Mrkdwn; blocks: KnownBlock[] } {
  const title = mrkdwn`Task #${card.taskId}: ${taskTitle(card)}`;
  return {
    text: mrkdwn`Reassigned: ${title}`,
    blocks: [
      section(mrkdwn`~${title}~`, 'task_title'),
      { type: 'context', block_id: 'task_status', elements: [{ type: 'mrkdwn', text: mrkdwn`:arrow_right: ${mention(by)} reassigned this task to ${mention(to)} on ${escapeMrkdwn(atText)}.` }] },
    ],
  };
}

/** `permalink` comes from Slack; it is linked only if it is a plain http(s) URL. */
export function reminderMessage(card: TaskCard, permalink: string | undefined): { text: Mrkdwn; blocks: KnownBlock[] } {
  const title = mrkdwn`Task #${card.taskId}: ${taskTitle(card)}`;
  const open = permalink ? mrkdwn` ${link(permalink, mrkdwn`Open the task`)}` : mrkdwn``;
  const text = mrkdwn`:alarm_clock: Reminder: ${title} is still open (assigned ${escapeMrkdwn(card.ageText)} ago, due ${escapeMrkdwn(card.dueDate)}).${open}`;
  return { text, blocks: [section(text, 'task_reminder')] };
}

export interface EscalationCard {
  taskId: number;
  /** `taskTitleText`: the subject escaped. */
  title: Mrkdwn;
  assignee: string;
  ageText: string;
  reminders: number;
  state: 'open' | 'done' | 'cant_do' | 'cancelled';
  closedBy?: string;
  link?: string;
}

/** One message in the IT channel per task, updated in place as the task ages or ends. */
export function escalationMessage(card: EscalationCard): { text: Mrkdwn; blocks: KnownBlock[] } {
  // Only "task #N" is linked: a title with a mention in it cannot be a link's label (markup inside markup).
  const linked = mrkdwn`${card.link ? link(card.link, mrkdwn`task #${card.taskId}`) : mrkdwn`task #${card.taskId}`}: ${card.title}`;
  const by = mention(card.closedBy ?? '');
  const age = escapeMrkdwn(card.ageText);
  let text: Mrkdwn;
  if (card.state === 'done') text = mrkdwn`:white_check_mark: Resolved: ${linked} was done by ${by} after ${age}.`;
  else if (card.state === 'cant_do') text = mrkdwn`:x: Closed: ${by} could not do ${linked} (after ${age}).`;
  else if (card.state === 'cancelled') text = mrkdwn`:no_entry_sign: Withdrawn: ${linked} is no longer needed; ${by} cancelled its request.`;
  else text = mrkdwn`:rotating_light: Overdue: ${linked} has been open for ${age}, assigned to ${mention(card.assignee)}, with ${card.reminders} reminder${card.reminders === 1 ? mrkdwn`` : mrkdwn`s`} and no progress.`;
  return { text, blocks: [section(text, 'task_escalation')] };
}

function modal(callbackId: string, taskId: number, title: string, submit: string, blocks: KnownBlock[]): ModalView {
  return {
    type: 'modal',
    callback_id: callbackId,
    private_metadata: JSON.stringify({ taskId }),
    title: { type: 'plain_text', text: title },
    submit: { type: 'plain_text', text: submit },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks,
  };
}

export function doneNoteModal(taskId: number, title: Mrkdwn): ModalView {
  return modal(TASK_VIEW.doneNote, taskId, 'Mark done', 'Mark done', [
    section(mrkdwn`*Task #${taskId}:* ${title}`),
    {
      type: 'input', block_id: TASK_INPUT.note, optional: true, label: { type: 'plain_text', text: 'Note (optional)' },
      element: { type: 'plain_text_input', action_id: TASK_INPUT.note, multiline: true, max_length: 1000 },
    },
  ]);
}

/** A person Reassign may hand the task to, with the name Slack shows for them (plain text, so no mention). */
export interface ReassignChoice {
  userId: string;
  name: string;
}

/** Only the people allowed to take the task are offered (the app's assignees and IT admins, never its subject). */
export function reassignModal(taskId: number, title: Mrkdwn, currentAssignee: string, choices: readonly ReassignChoice[]): ModalView {
  return modal(TASK_VIEW.reassign, taskId, 'Reassign task', 'Reassign', [
    section(mrkdwn`*Task #${taskId}:* ${title}\nNow assigned to ${mention(currentAssignee)}.`),
    {
      type: 'input', block_id: TASK_INPUT.assignee, label: { type: 'plain_text', text: 'Give it to' },
      element: {
        type: 'static_select', action_id: TASK_INPUT.assignee, placeholder: { type: 'plain_text', text: 'Pick a person' },
        // Slack allows 100 options and 75 characters per label.
        options: choices.slice(0, 100).map((choice) => ({ text: { type: 'plain_text', text: choice.name.slice(0, 75) }, value: choice.userId })),
      },
    },
  ]);
}

/** Date and time are read in the company's timezone, which the hint names. */
export function snoozeModal(taskId: number, title: Mrkdwn, initialDate: string, initialTime: string, timeZone: string): ModalView {
  return modal(TASK_VIEW.snooze, taskId, 'Snooze task', 'Snooze', [
    section(mrkdwn`*Task #${taskId}:* ${title}\nNo reminders until the time you pick.`),
    {
      type: 'input', block_id: TASK_INPUT.snoozeDate, label: { type: 'plain_text', text: 'Until (date)' },
      element: { type: 'datepicker', action_id: TASK_INPUT.snoozeDate, initial_date: initialDate },
    },
    {
      type: 'input', block_id: TASK_INPUT.snoozeTime, label: { type: 'plain_text', text: 'At (time)' }, hint: { type: 'plain_text', text: `Timezone: ${timeZone}` },
      element: { type: 'timepicker', action_id: TASK_INPUT.snoozeTime, initial_time: initialTime },
    },
  ]);
}

export function cantDoModal(taskId: number, title: Mrkdwn): ModalView {
  return modal(TASK_VIEW.cantDo, taskId, "Can't do", 'Send', [
    section(mrkdwn`*Task #${taskId}:* ${title}\nThe item fails and the requester is told why.`),
    {
      type: 'input', block_id: TASK_INPUT.reason, label: { type: 'plain_text', text: 'Reason' },
      element: { type: 'plain_text_input', action_id: TASK_INPUT.reason, multiline: true, min_length: 3, max_length: 1000 },
    },
  ]);
}

export interface TeamTaskRow {
  taskId: number;
  title: Mrkdwn;
  assignee: string;
  ageText: string;
  snoozedUntilText?: string;
}

/** Home tab caps: Slack allows 100 blocks per view, and the rest of Home needs room. */
export const HOME_MY_TASKS_MAX = 10;
export const HOME_TEAM_TASKS_MAX = 25;

/** The Home tab's task part: my open tasks with their buttons, then every open task of my apps, oldest first. */
export function taskHomeSection(mine: TaskCard[], team: TeamTaskRow[] | undefined): KnownBlock[] {
  const blocks: KnownBlock[] = [{ type: 'header', block_id: 'tasks_header', text: { type: 'plain_text', text: 'My tasks' } }];
  if (mine.length === 0) blocks.push(section(mrkdwn`No open tasks assigned to you.`, 'tasks_mine_empty'));
  for (const card of mine.slice(0, HOME_MY_TASKS_MAX)) {
    const snooze = card.snoozedUntilText ? mrkdwn` · :zzz: until ${escapeMrkdwn(card.snoozedUntilText)}` : mrkdwn``;
    blocks.push(section(mrkdwn`*Task #${card.taskId}:* ${taskTitle(card)}\nDue ${escapeMrkdwn(card.dueDate)} · open for ${escapeMrkdwn(card.ageText)}${snooze}`, `task_home:${card.taskId}`));
    blocks.push(taskButtons(card.taskId, `task_home_actions:${card.taskId}`));
  }
  if (mine.length > HOME_MY_TASKS_MAX) blocks.push(section(mrkdwn`…and ${mine.length - HOME_MY_TASKS_MAX} more (\`/access tasks\` lists them all).`, 'tasks_mine_more'));
  if (team) {
    blocks.push({ type: 'divider' }, { type: 'header', block_id: 'tasks_team_header', text: { type: 'plain_text', text: 'Open tasks of my apps' } });
    if (team.length === 0) blocks.push(section(mrkdwn`None: every task is done.`, 'tasks_team_empty'));
    const lines = team.slice(0, HOME_TEAM_TASKS_MAX).map(
      (row) => mrkdwn`• *#${row.taskId}* ${row.title} · ${mention(row.assignee)} · open ${escapeMrkdwn(row.ageText)}${row.snoozedUntilText ? mrkdwn` · :zzz: until ${escapeMrkdwn(row.snoozedUntilText)}` : mrkdwn``}`,
    );
    // Several rows per section keeps the block count low; each section stays under Slack's text limit.
    for (let i = 0, chunk = 0; i < lines.length; chunk++) {
      const rows: Mrkdwn[] = [];
      let length = 0;
      while (i < lines.length && length + lines[i]!.length + 1 < SECTION_MAX) {
        length += lines[i]!.length + 1;
        rows.push(lines[i++]!);
      }
      const text = rows.length ? joinMrkdwn(rows, '\n') : clip(lines[i++]!);
      blocks.push(section(text, `tasks_team:${chunk}`));
    }
    if (team.length > HOME_TEAM_TASKS_MAX) blocks.push(section(mrkdwn`…and ${team.length - HOME_TEAM_TASKS_MAX} more.`, 'tasks_team_more'));
  }
  return blocks;
}
