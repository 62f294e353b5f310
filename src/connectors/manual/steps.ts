/**
 * The exact steps an IT admin follows. Config `steps` override per app and kind; otherwise Axure gets the
 * steps from its admin guide and every other app generic ones. This file is the only place that names Axure.
 */
import type { ManualAppConfig } from '../../config.js';
import type { RequestKind } from '../../requests/model.js';
import { escapeMrkdwn, trustedMrkdwn, type Mrkdwn } from '../../util/mrkdwn.js';

export interface StepValues {
  app: string;
  email: string;
  name: string;
  role: string;
}

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
function isAxure(app: Pick<ManualAppConfig, 'id' | 'name'>): boolean {
  return app.id === 'axure' || /axure/i.test(app.id) || /axure/i.test(app.name);
}

export function defaultSteps(app: Pick<ManualAppConfig, 'id' | 'name'>, kind: RequestKind): readonly string[] {
  if (isAxure(app)) return kind === 'onboard' ? AXURE_ONBOARD : AXURE_OFFBOARD;
  return kind === 'onboard' ? GENERIC_ONBOARD : GENERIC_OFFBOARD;
}

/**
 * Config steps may use {app}, {email}, {name} and {role} too. A step is mrkdwn the operator wrote (bold, links);
 * the values are what a requester typed (a new hire's name and e-mail), so they go in escaped.
 */
export function stepsFor(app: Pick<ManualAppConfig, 'id' | 'name' | 'steps'>, kind: RequestKind, values: StepValues): Mrkdwn[] {
  const template = app.steps?.[kind] ?? defaultSteps(app, kind);
  return template.map((step) => trustedMrkdwn(step.replace(/\{(app|email|name|role)\}/g, (_, key: keyof StepValues) => escapeMrkdwn(values[key]))));
}

/**
 * The role to give: the requested one only when this app lists it (a request's role may have been chosen
 * for another app), else the app's default.
 */
export function roleFor(app: Pick<ManualAppConfig, 'roles' | 'defaultRole'>, requested: string | undefined): string | undefined {
  if (requested && app.roles?.includes(requested)) return requested;
  return app.defaultRole;
}
