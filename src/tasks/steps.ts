/**
 * The exact steps an IT admin follows. Config `steps` override per app and kind; otherwise Axure gets the
 * steps from its admin guide and every other app generic ones. This file is the only place that names Axure.
 * Steps are data (operator mrkdwn with placeholders); `src/slack/tasks` fills in the values, escaped.
 */
import type { TaskApp, TaskKind } from './model.js';

const AXURE_ONBOARD = [
  'Sign in to Axure Cloud for Business as an admin and open the *Members* page.',
  'Click *Add members* and enter {email}.',
  'If SAML SSO is configured (Account Settings → Authentication), check *Use SSO*; otherwise they sign in with a password.',
  'Choose the role *{role}* before saving.',
  '{name} needs their own public Axure Cloud account (they create it themselves); their RP subscription is activated through it.',
];

const AXURE_OFFBOARD = [
  'Sign in to Axure Cloud for Business as Super Admin or Technical Admin and open Organization Settings → *Members*.',
  'Find {email} in the members table and deactivate them.',
  'Free their seat in the *License Portal*: deactivating the member does not release it.',
  'On an on-premises server using AD/LDAP, also disable or remove them in the directory, or they can sign in again.',
  'Removing them from the identity provider (Okta, Azure AD) does NOT deprovision them: the steps above are required.',
];

const GENERIC_ONBOARD = [
  'Sign in to the {app} admin console.',
  'Create or invite the account for {email}.',
  'Give them the role *{role}*.',
  'If {app} uses single sign-on, make sure the account is set to sign in through it.',
];

const GENERIC_OFFBOARD = [
  'Sign in to the {app} admin console.',
  'Deactivate or remove the account of {email}.',
  'Free any seat or license the account held.',
  'Removing them from the identity provider alone may not close the {app} account: check it is really disabled.',
];

/** Axure by id or by name, so an app configured as "axure-rp" or "Axure RP" still gets its guide. */
function isAxure(app: Pick<TaskApp, 'id' | 'name'>): boolean {
  return app.id === 'axure' || /axure/i.test(app.id) || /axure/i.test(app.name);
}

export function defaultSteps(app: Pick<TaskApp, 'id' | 'name'>, kind: TaskKind): readonly string[] {
  if (isAxure(app)) return kind === 'onboard' ? AXURE_ONBOARD : AXURE_OFFBOARD;
  return kind === 'onboard' ? GENERIC_ONBOARD : GENERIC_OFFBOARD;
}

/** The steps of a task as the operator wrote them (config `steps`) or built in, with {app}, {email}, {name} and {role} still to fill. */
export function stepTemplates(app: Pick<TaskApp, 'id' | 'name' | 'steps'>, kind: TaskKind): readonly string[] {
  return app.steps?.[kind] ?? defaultSteps(app, kind);
}
