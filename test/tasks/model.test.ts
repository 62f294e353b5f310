/** The task rules as pure functions: who gets a task, who may act on it, whom Reassign offers. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseAccessConfig } from '../../src/config.js';
import { chooseAssignee, mayAct, reassignCandidates, taskActors, taskAppOf, type Task, type TaskApp } from '../../src/tasks/model.js';

const APP: TaskApp = { id: 'axure', name: 'Axure RP', assignees: ['U0IT1', 'U0IT2'], reminderEvery: 4 * 3_600_000, escalateAfter: 3 };
const ADMINS = ['U0ADMIN'];

function task(extra: Partial<Task> & { subject?: string | null } = {}): Task {
  const { subject = 'U0NEW', ...rest } = extra;
  return {
    id: 7, itemId: 1, requestId: 'AR-1', appId: 'axure', kind: 'offboard', assignee: 'U0IT1', state: 'open',
    item: {
      itemId: 1, requestId: 'AR-1', appId: 'axure', kind: 'offboard', subject: { slackId: subject, email: 'new@example.com', firstName: 'Pat', lastName: 'New' }, externalId: null,
      effectiveDate: '2026-03-02', requesterId: 'U0REQ', approvedBy: ['U0OWNER'], approvedAt: 0, justification: 'leaving', options: {},
    },
    snoozedUntil: null, remindersSent: 0, remindersSinceProgress: 0, lastProgressAt: 0, lastReminderAt: null, messageChannel: null, messageTs: null,
    escalationChannel: null, escalationTs: null, escalations: 0, createdAt: 0, updatedAt: 0, closedAt: null, closedBy: null, note: null, byHand: null,
    ...rest,
  };
}

const counts = (entries: Record<string, number>) => new Map(Object.entries(entries));

describe('chooseAssignee', () => {
  test('the fewest open tasks wins, and equal workloads go in turn after the last assignee', () => {
    assert.equal(chooseAssignee(['U0IT1', 'U0IT2'], null, ADMINS, counts({ U0IT1: 2, U0IT2: 1 }), undefined), 'U0IT2');
    assert.equal(chooseAssignee(['U0IT1', 'U0IT2'], null, ADMINS, counts({}), 'U0IT1'), 'U0IT2');
    assert.equal(chooseAssignee(['U0IT1', 'U0IT2'], null, ADMINS, counts({}), 'U0IT2'), 'U0IT1');
  });

  test('never the person the task is about, even with the fewest tasks: another assignee, else an IT admin, else nobody', () => {
    assert.equal(chooseAssignee(['U0IT1', 'U0IT2'], 'U0IT2', ADMINS, counts({ U0IT1: 5 }), 'U0IT1'), 'U0IT1');
    assert.equal(chooseAssignee(['U0IT1'], 'U0IT1', ADMINS, counts({}), undefined), 'U0ADMIN');
    assert.equal(chooseAssignee([], 'U0ADMIN', ADMINS, counts({}), undefined), undefined);
  });
});

describe('who may act', () => {
  test("the assignee, the app's other assignees and IT admins; never the subject", () => {
    assert.deepEqual(taskActors(task({ subject: 'U0IT2' }), APP, ADMINS), ['U0IT1', 'U0ADMIN']);
    assert.deepEqual(mayAct(task(), APP, ADMINS, 'U0IT2'), { ok: true, task: task() });
    assert.deepEqual(mayAct(task(), APP, ADMINS, 'U0ADMIN'), { ok: true, task: task() });
  });

  test('the subject is refused as their own access, a stranger with the people who may, a closed task as closed', () => {
    const own = task({ subject: 'U0IT2' });
    assert.deepEqual(mayAct(own, APP, ADMINS, 'U0IT2'), { ok: false, reason: 'own_access', task: own });
    assert.deepEqual(mayAct(task(), APP, ADMINS, 'U0STRANGER'), { ok: false, reason: 'not_allowed', task: task(), appName: 'Axure RP', otherAssignees: ['U0IT2'] });
    const done = task({ state: 'done', closedBy: 'U0IT1' });
    assert.deepEqual(mayAct(done, APP, ADMINS, 'U0IT1'), { ok: false, reason: 'closed', task: done });
  });

  test('Reassign offers only the other assignees and IT admins, never the current assignee or the subject', () => {
    assert.deepEqual(reassignCandidates(task(), APP, ADMINS), ['U0IT2', 'U0ADMIN']);
    assert.deepEqual(reassignCandidates(task({ subject: 'U0IT2' }), APP, ADMINS), ['U0ADMIN']);
    assert.deepEqual(reassignCandidates(task({ subject: 'U0ADMIN', assignee: 'U0IT2' }), APP, ADMINS), ['U0IT1']);
  });
});

describe('taskAppOf', () => {
  test("a manual app brings its own settings; any other app's task (an item finished by hand) goes to the IT admins with the defaults", () => {
    const config = parseAccessConfig({
      itChannel: 'C0IT', itAdmins: ['U0ADMIN'], timezone: 'UTC',
      apps: [
        { id: 'axure', name: 'Axure RP', connector: 'manual', approvers: ['U0OWNER'], assignees: ['U0IT1'], reminderEvery: '2h', escalateAfter: 5 },
        { id: 'autocad', name: 'AutoCAD', connector: 'autodesk', approvers: ['U0OWNER'] },
      ],
    });
    assert.deepEqual(
      (({ assignees, reminderEvery, escalateAfter }) => ({ assignees, reminderEvery, escalateAfter }))(taskAppOf(config, 'axure')!),
      { assignees: ['U0IT1'], reminderEvery: 2 * 3_600_000, escalateAfter: 5 },
    );
    assert.deepEqual(taskAppOf(config, 'autocad'), { id: 'autocad', name: 'AutoCAD', assignees: [], reminderEvery: 4 * 3_600_000, escalateAfter: 3, roles: ['user', 'admin', 'viewer'], defaultRole: 'user' });
    assert.equal(taskAppOf(config, 'nope'), undefined);
  });
});
