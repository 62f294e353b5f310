/** What every listener, job and connector is given: built once in `src/app.ts`, passed down, never global. */
import type { WebClient } from '@slack/web-api';
import type { Config } from './config.js';
import type { ItemProgress } from './connectors/types.js';
import type { JobRunner } from './jobs/runner.js';
import type { RequestDeps } from './requests/service.js';
import type { PeopleDirectory } from './slack/people.js';
import type { TaskDeps } from './tasks/service.js';

export interface AppContext extends RequestDeps {
  settings: Config;
  slack: WebClient;
  runner: JobRunner;
  progress: ItemProgress;
  /** The one directory of Slack users; `knownEmails` (what the requests side reads) reads its rows. */
  people: PeopleDirectory;
  /** What the task module is given; the Slack side acts on tasks with it. */
  tasks: TaskDeps;
}
