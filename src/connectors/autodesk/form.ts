/**
 * What the Autodesk plugin adds to the request form (role and teams, SPEC block ids `autodesk_role` and
 * `autodesk_teams`) and to the approval card (the role asked; what offboarding cannot undo).
 */
import type { FormField, StoredOptions } from '../types.js';
import { autodeskItemOptions, type AutodeskAppConfig } from './config.js';
import type { RequestKind } from '../../requests/model.js';
import type { Words } from '../../requests/words.js';

export const autodeskFields: readonly FormField<AutodeskAppConfig>[] = [
  {
    id: 'autodesk_role', optionKey: 'role', type: 'static_select', onboardOnly: true, choicesName: 'roles',
    label: (app) => `${app.name} role`,
    hint: (app) => `Onboarding to ${app.name} only.`,
    choices: (app) => app.roles.map((role) => ({ label: role, value: role })),
    initial: (app) => app.defaultRole,
  },
  {
    id: 'autodesk_teams', optionKey: 'teams', type: 'multi_static_select', onboardOnly: true, choicesName: 'teams',
    label: (app) => `${app.name} teams`,
    hint: () => 'Joined once the person has accepted the invitation.',
    choices: (app) => app.teams.map((team) => ({ label: team.name, value: team.id })),
  },
];

export function autodeskCardLines(app: AutodeskAppConfig, request: { kind: RequestKind; options: StoredOptions }): Words[] {
  if (request.kind === 'onboard') {
    const asked = autodeskItemOptions.safeParse(request.options);
    const options = asked.success ? asked.data : {};
    const teams = (options.teams ?? []).map((id) => app.teams.find((team) => team.id === id)?.name ?? id);
    return [[{ strong: `${app.name} role:` }, ` ${options.role ?? app.defaultRole}   `, { strong: 'Teams:' }, ` ${teams.length ? teams.join(', ') : 'none'}`]];
  }
  return [
    app.offboardAction === 'delete'
      ? [':warning: ', { strong: `${app.name}: this is a hard, irreversible delete.` }, ' The account and its data are removed for good.']
      : [':warning: ', { strong: `${app.name} deactivation cannot be undone through the API` }, ' (reactivation needs an Autodesk support case).'],
  ];
}
