/**
 * Numbered migrations, applied in order at start-up, each in its own transaction. Never edit a shipped one:
 * add the next number. `PRAGMA user_version` records how far a database has come.
 */
import { sql as core } from './001_core.js';
import { sql as autodesk } from './002_autodesk.js';
import { sql as manual } from './003_manual.js';
import { sql as autodeskCalls } from './004_autodesk_calls.js';
import { sql as cancel } from './005_cancel.js';
import { sql as runner } from './006_runner.js';
import { sql as slackPeople } from './007_slack_people.js';
import { sql as approvalReminders } from './008_approval_reminders.js';
import { sql as delegation } from './009_delegation.js';
import { sql as jobFailingSince } from './010_job_failing_since.js';
import { sql as itemPreviews } from './011_item_previews.js';
import { sql as personReports } from './012_person_reports.js';
import { sql as tasksByHand } from './013_tasks_by_hand.js';
import { sql as itemEndDates } from './014_item_end_dates.js';
import { sql as requestOptions } from './015_request_options.js';
import { sql as itemDetailWords } from './016_item_detail_words.js';
import { sql as reportIndexes } from './017_report_indexes.js';

export const migrations: { version: number; name: string; sql: string }[] = [
  { version: 1, name: 'core', sql: core },
  { version: 2, name: 'autodesk', sql: autodesk },
  { version: 3, name: 'manual', sql: manual },
  { version: 4, name: 'autodesk_calls', sql: autodeskCalls },
  { version: 5, name: 'cancel', sql: cancel },
  { version: 6, name: 'runner', sql: runner },
  { version: 7, name: 'slack_people', sql: slackPeople },
  { version: 8, name: 'approval_reminders', sql: approvalReminders },
  { version: 9, name: 'delegation', sql: delegation },
  { version: 10, name: 'job_failing_since', sql: jobFailingSince },
  { version: 11, name: 'item_previews', sql: itemPreviews },
  { version: 12, name: 'person_reports', sql: personReports },
  { version: 13, name: 'tasks_by_hand', sql: tasksByHand },
  { version: 14, name: 'item_end_dates', sql: itemEndDates },
  { version: 15, name: 'request_options', sql: requestOptions },
  { version: 16, name: 'item_detail_words', sql: itemDetailWords },
  { version: 17, name: 'report_indexes', sql: reportIndexes },
];
