/** User writes: create (409 on duplicates), replace (PUT), update, delete with the user's assignments. */
import { duplicate } from "../errors";
import type { JsonObject, UserRec } from "../model";
import type { Store } from "../store";
import { getUser } from "./facts-lookup";
import type { UserInput } from "./inputs";
import { assignIfMissing } from "./role-assignments";

function userRecord(store: Store, at: string, input: UserInput, previous?: UserRec): UserRec {
  return {
    id: previous?.id ?? store.nextId(),
    created_at: previous?.created_at ?? at,
    updated_at: at,
    key: input.key,
    email: input.email,
    first_name: input.first_name,
    last_name: input.last_name,
    attributes: input.attributes ?? {},
  };
}

function assignInitialRoles(store: Store, at: string, input: UserInput): void {
  for (const r of input.role_assignments ?? []) {
    assignIfMissing(store, at, { user: input.key, role: r.role, tenant: r.tenant, resource_instance: r.resource_instance });
  }
}

export function createUser(store: Store, at: string, input: UserInput): UserRec {
  if (store.users.has(input.key)) throw duplicate(`user '${input.key}'`);
  const user = userRecord(store, at, input);
  store.putUser(user);
  assignInitialRoles(store, at, input);
  return user;
}

/** PUT /users/{key}: create or replace the whole user (role assignments are only ever added). */
export function replaceUser(store: Store, at: string, input: UserInput): { user: UserRec; created: boolean } {
  const previous = store.users.get(input.key);
  const user = userRecord(store, at, input, previous);
  const unchanged =
    previous !== undefined &&
    previous.email === user.email &&
    previous.first_name === user.first_name &&
    previous.last_name === user.last_name &&
    JSON.stringify(previous.attributes) === JSON.stringify(user.attributes);
  if (!unchanged) store.putUser(user);
  assignInitialRoles(store, at, input);
  return { user: unchanged ? previous : user, created: previous === undefined };
}

export function updateUser(
  store: Store,
  at: string,
  key: string,
  patch: { email?: string; first_name?: string; last_name?: string; attributes?: JsonObject },
): UserRec {
  const current = getUser(store, key);
  const user: UserRec = {
    ...current,
    email: patch.email ?? current.email,
    first_name: patch.first_name ?? current.first_name,
    last_name: patch.last_name ?? current.last_name,
    attributes: patch.attributes ?? current.attributes,
    updated_at: at,
  };
  store.putUser(user);
  return user;
}

export function deleteUser(store: Store, key: string): void {
  getUser(store, key);
  for (const assignment of store.assignmentsByUser.list(key)) store.removeAssignment(assignment);
  store.deleteUserRecord(key);
}
