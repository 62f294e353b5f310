/** What people see of their tasks outside the task DM: the Home tab part and `/access tasks`. */
import type { KnownBlock } from '@slack/types';
import type { AppContext } from '../../context.js';
import { appsAssignedTo } from '../../tasks/model.js';
import { openTasksAssignedTo, openTasksOfTheseApps } from '../../tasks/service.js';
import { formatDuration } from '../../util/duration.js';
import { formatInstant } from '../../util/time.js';
import { taskHomeSection, taskTitle, type TeamTaskRow } from './blocks.js';
import { cardOf, taskTitleText } from './card.js';

type TaskReader = Pick<AppContext, 'db' | 'config' | 'clock'>;

/**
 * My open tasks with their buttons, and for assignees every open task of their apps with its age, oldest
 * first. Empty for people with no tasks who assign none, so their Home stays about their requests.
 */
export function taskHomeBlocks(ctx: TaskReader, userId: string): KnownBlock[] {
  const now = ctx.clock.now();
  const mine = openTasksAssignedTo(ctx, userId).map((task) => cardOf(ctx.config, task, now));
  const apps = appsAssignedTo(ctx.config, userId);
  if (mine.length === 0 && apps.length === 0) return [];
  const team: TeamTaskRow[] | undefined = apps.length
    ? openTasksOfTheseApps(ctx, apps).map((task) => ({
        taskId: task.id, title: taskTitleText(ctx.config, task), assignee: task.assignee, ageText: formatDuration(Math.max(0, now - task.createdAt)),
        snoozedUntilText: task.snoozedUntil !== null && task.snoozedUntil > now ? formatInstant(task.snoozedUntil, ctx.config.timezone) : undefined,
      }))
    : undefined;
  return taskHomeSection(mine, team);
}

/** `/access tasks` (ephemeral): my open tasks, oldest first, and how many are open across my apps. */
export function tasksCommandText(ctx: TaskReader, userId: string): string {
  const now = ctx.clock.now();
  const mine = openTasksAssignedTo(ctx, userId).map((task) => cardOf(ctx.config, task, now));
  const apps = appsAssignedTo(ctx.config, userId);
  const teamOpen = apps.length ? openTasksOfTheseApps(ctx, apps).length : 0;
  const team = apps.length ? `\n\nOpen tasks across your apps: ${teamOpen}. The Home tab lists them all, oldest first.` : '';
  if (mine.length === 0) return `You have no open access tasks.${team}`;
  const lines = mine.map((card) => {
    const snooze = card.snoozedUntilText ? ` · :zzz: until ${card.snoozedUntilText}` : '';
    return `• *#${card.taskId}* ${taskTitle(card)} · due ${card.dueDate} · open ${card.ageText}${snooze}`;
  });
  const text = `*Your open access tasks* (${mine.length})\n${lines.join('\n')}\n\nUse the buttons in each task's DM or on the Home tab.${team}`;
  // An ephemeral response carries at most 40,000 characters; long lists are cut, the count above stays right.
  return text.length > 3900 ? `${text.slice(0, 3890)}\n…` : text;
}
