/**
 * What the task module tells the rest of the bot, as durable jobs written in the transaction of the change
 * (so a change and its notice are never separated by a crash). The Slack side (`src/slack/tasks/jobs.ts`)
 * handles each kind: it posts or re-renders messages and reads the task afresh when it runs, so a notice that
 * outlived a later change acts on the current state or does nothing. The kind strings are stored in the
 * `jobs` table: keep them stable.
 */
import { z } from 'zod';
import type { Db } from '../db/connection.js';
import { enqueue, type EnqueueOptions } from '../jobs/queue.js';

export const TASK_EVENT = {
  /** A task was given to someone (created, reopened or reassigned): their DM is due. */
  assigned: 'task.post',
  /** The task changed (done, can't do, snoozed, withdrawn, a snooze ended); with `handover`: it was reassigned away from that DM. */
  changed: 'task.render',
  /** A reminder is due; its handler reports back with `reminderSent`, which schedules the next one. */
  reminderDue: 'task.remind',
  /** The task went unanswered past its app's `escalateAfter` reminders. */
  escalated: 'task.escalate',
  /** Its request was cancelled while the task was open: the assignee should hear it is no longer needed. */
  withdrawn: 'task.withdrawn',
} as const;

export type TaskEventKind = (typeof TASK_EVENT)[keyof typeof TASK_EVENT];

const taskId = z.number().int().positive();

export const TASK_EVENT_SCHEMA = {
  [TASK_EVENT.assigned]: z.object({ taskId, assignee: z.string().min(1) }),
  [TASK_EVENT.changed]: z.object({
    taskId,
    /** The DM of the previous assignee, to be marked as handed over. */
    handover: z.object({ channel: z.string(), ts: z.string(), to: z.string(), by: z.string(), at: z.number() }).optional(),
  }),
  [TASK_EVENT.reminderDue]: z.object({ taskId }),
  [TASK_EVENT.escalated]: z.object({ taskId }),
  [TASK_EVENT.withdrawn]: z.object({ taskId, by: z.string().min(1) }),
} satisfies Record<TaskEventKind, z.ZodTypeAny>;

export type TaskEventPayload<K extends TaskEventKind> = z.infer<(typeof TASK_EVENT_SCHEMA)[K]>;

/** Typed `enqueue`: a notice cannot be written with the wrong payload. */
export function emitTaskEvent<K extends TaskEventKind>(db: Db, now: number, kind: K, payload: TaskEventPayload<K>, options: EnqueueOptions = {}): void {
  enqueue(db, now, kind, payload, options);
}

export const remindKey = (id: number) => `task-remind:${id}`;
/** Post, render and escalate of one task run one at a time, in order, so a render never races the post. */
export const taskQueue = (id: number) => `task:${id}`;
