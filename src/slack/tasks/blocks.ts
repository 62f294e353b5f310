/**
 * Block Kit for manual tasks: pure functions from a plain description of the task to Slack JSON, so each
 * can be checked without Slack. Buttons carry only the task id; the action_id carries it too, because one
 * Home tab lists many tasks and Slack rejects a view with duplicate action_ids.
 */
import type { ActionsBlock, Button, KnownBlock, ModalView, SectionBlock } from '@slack/types';
import { escapeMrkdwn } from '../../util/mrkdwn.js';

export interface TaskCard {
  taskId: number;
  requestId: string;
  appName: string;
  kind: 'onboard' | 'offboard';
  /** mrkdwn: a mention or "Name (email)". */
  subject: string;
  /** Plain text, as the person typed it (escaped here, like `justification` and `note`). */
  email: string;
  role?: string;
  requesterId: string;
  approvedBy: string[];
  dueDate: string;
  justification: string;
  steps: string[];
  assignee: string;
  state: 'open' | 'done' | 'cant_do' | 'cancelled';
  /** Pre-formatted in the company's timezone. */
  createdAtText: string;
  ageText: string;
  snoozedUntilText?: string;
  closedBy?: string;
  closedAtText?: string;
  note?: string;
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

function clip(text: string, max = SECTION_MAX): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function section(text: string, blockId?: string): SectionBlock {
  return { type: 'section', text: { type: 'mrkdwn', text: clip(text) }, ...(blockId ? { block_id: blockId } : {}) };
}

function verb(kind: TaskCard['kind']): string {
  return kind === 'onboard' ? 'Onboard' : 'Offboard';
}

/** "Onboard @ana to Figma" */
export function taskTitle(card: Pick<TaskCard, 'kind' | 'subject' | 'appName'>): string {
  return `${verb(card.kind)} ${card.subject} ${card.kind === 'onboard' ? 'to' : 'from'} ${card.appName}`;
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

function detailsText(card: TaskCard): string {
  const approvers = card.approvedBy.length ? card.approvedBy.map((id) => `<@${id}>`).join(', ') : 'nobody recorded';
  return [
    `*Who:* ${card.subject} (${escapeMrkdwn(card.email)})`,
    `*What:* ${card.kind === 'onboard' ? 'give access to' : 'remove access from'} *${card.appName}*`,
    `*Role:* ${card.role ?? 'not specified'}`,
    `*Asked by:* <@${card.requesterId}>  ·  *Approved by:* ${approvers}`,
    `*Due:* ${card.dueDate}  ·  *Request:* ${card.requestId}`,
    card.justification ? `*Why:* ${escapeMrkdwn(card.justification)}` : '',
  ].filter(Boolean).join('\n');
}

function stepsText(steps: readonly string[]): string {
  return `*Steps*\n${steps.map((step, i) => `${i + 1}. ${step}`).join('\n')}`;
}

function statusText(card: TaskCard): string {
  if (card.state === 'done') return `:white_check_mark: Done by <@${card.closedBy}> on ${card.closedAtText}${card.note ? `: “${escapeMrkdwn(card.note)}”` : ''}`;
  if (card.state === 'cant_do') return `:x: <@${card.closedBy}> could not do it (${card.closedAtText}): “${escapeMrkdwn(card.note ?? '')}”. The requester has been told.`;
  if (card.state === 'cancelled') return `:no_entry_sign: Withdrawn on ${card.closedAtText}: <@${card.closedBy}> cancelled the request. Nothing to do.`;
  const snooze = card.snoozedUntilText ? `  ·  :zzz: snoozed until ${card.snoozedUntilText}` : '';
  return `Assigned to <@${card.assignee}> on ${card.createdAtText}${snooze}`;
}

/** The task DM: buttons while open; once closed, who closed it and when, and no buttons. */
export function taskMessage(card: TaskCard): { text: string; blocks: KnownBlock[] } {
  const title = `Task #${card.taskId}: ${taskTitle(card)}`;
  const blocks: KnownBlock[] = [
    section(`*${title}*`, 'task_title'),
    section(detailsText(card), 'task_details'),
    section(stepsText(card.steps), 'task_steps'),
    { type: 'context', block_id: 'task_status', elements: [{ type: 'mrkdwn', text: clip(statusText(card)) }] },
  ];
  if (card.state === 'open') blocks.push(taskButtons(card.taskId));
  const prefix = { open: '', done: 'Done: ', cant_do: "Couldn't be done: ", cancelled: 'Withdrawn: ' }[card.state];
  return { text: `${prefix}${title}`, blocks };
}

/** The old DM of a reassigned task: it stays readable but can no longer be acted on. */
export function handedOverMessage(card: TaskCard, to: string, by: string, atText: string): { text: string; blocks: KnownBlock[] } {
  const title = `Task #${card.taskId}: ${taskTitle(card)}`;
  return {
    text: `Reassigned: ${title}`,
    blocks: [
      section(`~${title}~`, 'task_title'),
      { type: 'context', block_id: 'task_status', elements: [{ type: 'mrkdwn', text: `:arrow_right: <@${by}> reassigned this task to <@${to}> on ${atText}.` }] },
    ],
  };
}

export function reminderMessage(card: TaskCard, link: string | undefined): { text: string; blocks: KnownBlock[] } {
  const title = `Task #${card.taskId}: ${taskTitle(card)}`;
  const open = link ? ` <${link}|Open the task>` : '';
  const text = `:alarm_clock: Reminder: ${title} is still open (assigned ${card.ageText} ago, due ${card.dueDate}).${open}`;
  return { text, blocks: [section(text, 'task_reminder')] };
}

export interface EscalationCard {
  taskId: number;
  title: string;
  assignee: string;
  ageText: string;
  reminders: number;
  state: 'open' | 'done' | 'cant_do' | 'cancelled';
  closedBy?: string;
  link?: string;
}

/** One message in the IT channel per task, updated in place as the task ages or ends. */
export function escalationMessage(card: EscalationCard): { text: string; blocks: KnownBlock[] } {
  const name = `task #${card.taskId}: ${card.title}`;
  const linked = card.link ? `<${card.link}|${name}>` : name;
  let text: string;
  if (card.state === 'done') text = `:white_check_mark: Resolved: ${linked} was done by <@${card.closedBy}> after ${card.ageText}.`;
  else if (card.state === 'cant_do') text = `:x: Closed: <@${card.closedBy}> could not do ${linked} (after ${card.ageText}).`;
  else if (card.state === 'cancelled') text = `:no_entry_sign: Withdrawn: ${linked} is no longer needed; <@${card.closedBy}> cancelled its request.`;
  else text = `:rotating_light: Overdue: ${linked} has been open for ${card.ageText}, assigned to <@${card.assignee}>, with ${card.reminders} reminder${card.reminders === 1 ? '' : 's'} and no progress.`;
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

export function doneNoteModal(taskId: number, title: string): ModalView {
  return modal(TASK_VIEW.doneNote, taskId, 'Mark done', 'Mark done', [
    section(`*Task #${taskId}:* ${title}`),
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
export function reassignModal(taskId: number, title: string, currentAssignee: string, choices: readonly ReassignChoice[]): ModalView {
  return modal(TASK_VIEW.reassign, taskId, 'Reassign task', 'Reassign', [
    section(`*Task #${taskId}:* ${title}\nNow assigned to <@${currentAssignee}>.`),
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
export function snoozeModal(taskId: number, title: string, initialDate: string, initialTime: string, timeZone: string): ModalView {
  return modal(TASK_VIEW.snooze, taskId, 'Snooze task', 'Snooze', [
    section(`*Task #${taskId}:* ${title}\nNo reminders until the time you pick.`),
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

export function cantDoModal(taskId: number, title: string): ModalView {
  return modal(TASK_VIEW.cantDo, taskId, "Can't do", 'Send', [
    section(`*Task #${taskId}:* ${title}\nThe item fails and the requester is told why.`),
    {
      type: 'input', block_id: TASK_INPUT.reason, label: { type: 'plain_text', text: 'Reason' },
      element: { type: 'plain_text_input', action_id: TASK_INPUT.reason, multiline: true, min_length: 3, max_length: 1000 },
    },
  ]);
}

export interface TeamTaskRow {
  taskId: number;
  title: string;
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
  if (mine.length === 0) blocks.push(section('No open tasks assigned to you.', 'tasks_mine_empty'));
  for (const card of mine.slice(0, HOME_MY_TASKS_MAX)) {
    const snooze = card.snoozedUntilText ? ` · :zzz: until ${card.snoozedUntilText}` : '';
    blocks.push(section(`*Task #${card.taskId}:* ${taskTitle(card)}\nDue ${card.dueDate} · open for ${card.ageText}${snooze}`, `task_home:${card.taskId}`));
    blocks.push(taskButtons(card.taskId, `task_home_actions:${card.taskId}`));
  }
  if (mine.length > HOME_MY_TASKS_MAX) blocks.push(section(`…and ${mine.length - HOME_MY_TASKS_MAX} more (\`/access tasks\` lists them all).`, 'tasks_mine_more'));
  if (team) {
    blocks.push({ type: 'divider' }, { type: 'header', block_id: 'tasks_team_header', text: { type: 'plain_text', text: 'Open tasks of my apps' } });
    if (team.length === 0) blocks.push(section('None: every task is done.', 'tasks_team_empty'));
    const lines = team.slice(0, HOME_TEAM_TASKS_MAX).map(
      (row) => `• *#${row.taskId}* ${row.title} · <@${row.assignee}> · open ${row.ageText}${row.snoozedUntilText ? ` · :zzz: until ${row.snoozedUntilText}` : ''}`,
    );
    // Several rows per section keeps the block count low; each section stays under Slack's text limit.
    for (let i = 0, chunk = 0; i < lines.length; chunk++) {
      let text = '';
      while (i < lines.length && text.length + lines[i]!.length + 1 < SECTION_MAX) text += `${text ? '\n' : ''}${lines[i++]}`;
      if (!text) text = clip(lines[i++]!);
      blocks.push(section(text, `tasks_team:${chunk}`));
    }
    if (team.length > HOME_TEAM_TASKS_MAX) blocks.push(section(`…and ${team.length - HOME_TEAM_TASKS_MAX} more.`, 'tasks_team_more'));
  }
  return blocks;
}
