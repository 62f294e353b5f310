/**
 * The one place that maps user-lifecycle operations to Autodesk's REST dialect (routes, bodies, status codes
 * and response shapes of the seed guide). Another dialect (SCIM 2.0, say) is another implementation of
 * `AutodeskApi`; nothing else in the connector knows a URL.
 */
import { z } from 'zod';
import type { AutodeskClient } from './client.js';
import { AutodeskApiError, parseBody } from './http.js';

/** `unknown` stands for a status this code does not know, so one odd user cannot break a directory page. */
export type UserStatus = 'active' | 'inactive' | 'pending' | 'unknown';

export interface AutodeskUser {
  id: string;
  /** As the API returns it; compare it lower-cased. */
  email: string;
  status: UserStatus;
  role: string | null;
  firstName: string | null;
  lastName: string | null;
  /** ISO timestamp of the last login, when the API says (shown in an offboarding's preview). */
  lastLogin?: string | null;
}

export interface UserPage {
  users: AutodeskUser[];
  /** The server's total at the time of this page, when it says. */
  total: number | null;
}

export interface NewUser {
  email: string;
  firstName: string | null;
  lastName: string | null;
  role: string;
}

export interface TeamMembership {
  id: string;
  name: string | null;
  role: string | null;
}

export type CreateOutcome = { outcome: 'created'; user: AutodeskUser } | { outcome: 'exists' };
export type AssignOutcome = 'assigned' | 'already_member' | 'not_active';

export interface AutodeskApi {
  readonly maxPageSize: number;
  listUsersPage(offset: number, limit: number, signal?: AbortSignal): Promise<UserPage>;
  /** null when there is no such user. */
  getUser(id: string, signal?: AbortSignal): Promise<AutodeskUser | null>;
  /** `exists` when a user with that e-mail exists already (any casing). */
  createUser(user: NewUser, signal?: AbortSignal): Promise<CreateOutcome>;
  updateRole(id: string, role: string, signal?: AbortSignal): Promise<void>;
  /** The status the API reports after the call, or null when its answer does not say. */
  deactivateUser(id: string, signal?: AbortSignal): Promise<UserStatus | null>;
  deleteUser(id: string, signal?: AbortSignal): Promise<'deleted' | 'not_found'>;
  listUserTeams(id: string, signal?: AbortSignal): Promise<TeamMembership[]>;
  /** `not_active` when the user cannot join teams yet (invitation pending). */
  assignTeam(id: string, teamId: string, role: string, signal?: AbortSignal): Promise<AssignOutcome>;
}

const KNOWN_STATUSES: readonly string[] = ['active', 'inactive', 'pending'];
const status = z.string().transform((value): UserStatus => (KNOWN_STATUSES.includes(value) ? (value as UserStatus) : 'unknown'));
const userSchema = z.object({
  id: z.string().min(1),
  email: z.string().min(1),
  status,
  role: z.string().nullish(),
  firstName: z.string().nullish(),
  lastName: z.string().nullish(),
  lastLogin: z.string().nullish(),
});
const pageSchema = z.object({
  data: z.array(userSchema),
  pagination: z.object({ total: z.number().int().nonnegative().optional() }).optional(),
});
/** The guide's PATCH answer may carry only id, status and deactivatedAt. */
const patchedSchema = z.object({ id: z.string().optional(), status: status.optional() });
const teamsSchema = z.object({
  data: z.array(z.object({ id: z.string().min(1), name: z.string().nullish(), role: z.string().nullish() })),
});

const toUser = (raw: z.infer<typeof userSchema>): AutodeskUser => ({
  id: raw.id, email: raw.email, status: raw.status, role: raw.role ?? null, firstName: raw.firstName ?? null, lastName: raw.lastName ?? null,
  lastLogin: raw.lastLogin ?? null,
});

const userPath = (id: string) => `/users/${encodeURIComponent(id)}`;

async function orNotFound<T>(call: Promise<T>): Promise<T | null> {
  try {
    return await call;
  } catch (error) {
    if (error instanceof AutodeskApiError && error.status === 404) return null;
    throw error;
  }
}

export function createRestApi(client: AutodeskClient): AutodeskApi {
  return {
    maxPageSize: 100,

    async listUsersPage(offset, limit, signal) {
      const action = 'list users';
      const res = await client.call(action, 'GET', '/users', { query: { limit, offset }, signal });
      const page = parseBody(action, pageSchema, res.body);
      return { users: page.data.map(toUser), total: page.pagination?.total ?? null };
    },

    async getUser(id, signal) {
      const action = 'get user';
      const res = await orNotFound(client.call(action, 'GET', userPath(id), { signal }));
      return res && toUser(parseBody(action, userSchema, res.body));
    },

    async createUser(user, signal) {
      const action = 'create user';
      const body: Record<string, string> = { email: user.email, role: user.role };
      if (user.firstName) body.firstName = user.firstName;
      if (user.lastName) body.lastName = user.lastName;
      try {
        const res = await client.call(action, 'POST', '/users', { body, signal });
        return { outcome: 'created', user: toUser(parseBody(action, userSchema, res.body)) };
      } catch (error) {
        if (error instanceof AutodeskApiError && error.status === 409) return { outcome: 'exists' };
        throw error;
      }
    },

    async updateRole(id, role, signal) {
      await client.call('update user role', 'PATCH', userPath(id), { body: { role }, signal });
    },

    async deactivateUser(id, signal) {
      const action = 'deactivate user';
      const res = await client.call(action, 'PATCH', userPath(id), { body: { status: 'inactive' }, signal });
      return parseBody(action, patchedSchema, res.body ?? {}).status ?? null;
    },

    async deleteUser(id, signal) {
      const res = await orNotFound(client.call('delete user', 'DELETE', userPath(id), { signal }));
      return res ? 'deleted' : 'not_found';
    },

    async listUserTeams(id, signal) {
      const action = 'list user teams';
      const res = await client.call(action, 'GET', `${userPath(id)}/teams`, { signal });
      return parseBody(action, teamsSchema, res.body).data.map((team) => ({ id: team.id, name: team.name ?? null, role: team.role ?? null }));
    },

    async assignTeam(id, teamId, role, signal) {
      try {
        await client.call('assign team', 'POST', `${userPath(id)}/teams`, { body: { teamId, role }, signal, repeatable: true });
        return 'assigned';
      } catch (error) {
        // A 409 is "already a member", except the one that says the invitation is still pending.
        if (error instanceof AutodeskApiError && error.status === 409) return error.code === 'invitation_pending' ? 'not_active' : 'already_member';
        throw error;
      }
    },
  };
}

export const WEBHOOK_EVENTS = ['user.created', 'user.updated', 'user.deactivated', 'user.deleted', 'user.invited', 'user.accepted_invitation'] as const;
export type WebhookEventName = (typeof WEBHOOK_EVENTS)[number];

const webhookSchema = z.object({ id: z.string().min(1), event: z.string().min(1), createdAt: z.string().optional(), data: z.unknown() });

/** What a delivery may be used for: which user to look at again, and when it says it was sent. */
export type WebhookEvent =
  | { id: string; kind: 'user'; event: WebhookEventName; userId: string; createdAt?: string }
  | { id: string; kind: 'unknown'; event: string; createdAt?: string };

/**
 * A lifecycle delivery in the guide's shape `{id, event, createdAt, data: user}`; undefined when it is not one.
 * Only the user id is taken from `data`: the rest of the payload is a claim, never read as a fact.
 */
export function parseWebhookEvent(payload: unknown): WebhookEvent | undefined {
  const envelope = webhookSchema.safeParse(payload);
  if (!envelope.success) return undefined;
  const { id, event, data, createdAt } = envelope.data;
  const when = createdAt === undefined ? {} : { createdAt };
  if (!(WEBHOOK_EVENTS as readonly string[]).includes(event)) return { id, kind: 'unknown', event, ...when };
  const user = z.object({ id: z.string().min(1) }).safeParse(data);
  return user.success ? { id, kind: 'user', event: event as WebhookEventName, userId: user.data.id, ...when } : undefined;
}
