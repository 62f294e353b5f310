/**
 * What the task module tells the rest of the bot, as durable jobs written in the transaction of the change
 * (so a change and its notice are never separated by a crash). The Slack side (`src/slack/tasks/jobs.ts`)
 * handles each kind: it posts or re-renders messages and reads the task afresh when it runs, so a notice that
 * outlived a later change acts on the current state or does nothing. The kind strings are stored in the
 * `jobs` table: keep them stable.
 */
import { z } from 'zod';
import type { Db } from '../db/connection.js';
import { defineJob, type JobPayloads, type JobType } from '../jobs/kinds.js';
import { enqueue, type EnqueueOptions } from '../jobs/queue.js';

const taskId = z.number().int().positive();
const taskOnly = z.object({ taskId });
const assigned = z.object({ taskId, assignee: z.string().min(1) });
const changed = z.object({
  taskId,
  /** The DM of the previous assignee, to be marked as handed over. */
  handover: z.object({ channel: z.string(), ts: z.string(), to: z.string(), by: z.string(), at: z.number() }).optional(),
});
const withdrawn = z.object({ taskId, by: z.string().min(1) });

declare module '../jobs/kinds.js' {
  interface JobPayloads {
    'task.post': z.infer<typeof assigned>;
    'task.render': z.infer<typeof changed>;
    'task.remind': z.infer<typeof taskOnly>;
    'task.escalate': z.infer<typeof taskOnly>;
    'task.withdrawn': z.infer<typeof withdrawn>;
  }
}

export const TASK_EVENT = {
  /** A task was given to someone (created, reopened or reassigned): their DM is due. */
  assigned: defineJob('task.post', assigned),
  /** The task changed (done, can't do, snoozed, withdrawn, a snooze ended); with `handover`: it was reassigned away from that DM. */
  changed: defineJob('task.render', changed),
  /** A reminder is due; its handler reports back with `reminderSent`, which schedules the next one. */
  reminderDue: defineJob('task.remind', taskOnly),
  /** The task went unanswered past its app's `escalateAfter` reminders. */
  escalated: defineJob('task.escalate', taskOnly),
  /** Its request was cancelled while the task was open: the assignee should hear it is no longer needed. */
  withdrawn: defineJob('task.withdrawn', withdrawn),
} as const;

type TaskEvent = (typeof TASK_EVENT)[keyof typeof TASK_EVENT];
export type TaskEventKind = TaskEvent['kind'];
export type TaskEventPayload<K extends TaskEventKind> = JobPayloads[K];

/** Typed `enqueue`: a notice cannot be written with the wrong payload. */
export function emitTaskEvent<K extends TaskEventKind>(db: Db, now: number, event: JobType<K>, payload: JobPayloads[K], options: EnqueueOptions = {}): void {
  enqueue(db, now, event, payload, options);
}

export const remindKey = (id: number) => `task-remind:${id}`;
/** Post, render and escalate of one task run one at a time, in order, so a render never races the post. */
export const taskQueue = (id: number) => `task:${id}`;
