/** Shared setup for the local PDP tests: a PDP on a free port and the real permitio SDK pointed at it. */
import { Permit, PermitApiError } from "permitio";
import { startLocalPdp, type LocalPdp } from "../src";

export const API_KEY = "local-pdp-test-key";

export interface Harness {
  pdp: LocalPdp;
  permit: Permit;
  raw(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: unknown }>;
}

export function sdk(url: string, apiKey: string = API_KEY): Permit {
  return new Permit({ token: apiKey, pdp: url, apiUrl: url, timeout: 5000, log: { level: "silent" } });
}

export async function rawRequest(
  url: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = { authorization: `Bearer ${API_KEY}` },
): Promise<{ status: number; body: unknown }> {
  const init: RequestInit = { method, headers: { ...headers } };
  if (body !== undefined) {
    (init.headers as Record<string, string>)["content-type"] = "application/json";
    init.body = typeof body === "string" ? body : JSON.stringify(body);
  }
  const res = await fetch(`${url}${path}`, init);
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text === "" ? undefined : JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body: parsed };
}

export async function startHarness(opts: { statePath?: string; decisionLogSize?: number } = {}): Promise<Harness> {
  const pdp = await startLocalPdp({ apiKey: API_KEY, port: 0, ...opts });
  return {
    pdp,
    permit: sdk(pdp.url),
    raw: (method, path, body, headers) => rawRequest(pdp.url, method, path, body, headers),
  };
}

/** The HTTP status an SDK call ended with: 200 when it succeeded, -1 when it failed without an answer. */
export async function statusOf(call: Promise<unknown>): Promise<number | undefined> {
  try {
    await call;
    return 200;
  } catch (err) {
    return err instanceof PermitApiError ? err.response?.status : -1;
  }
}

export const FACTS = "/v2/facts/proj_local/env_local";
export const SCHEMA = "/v2/schema/proj_local/env_local";

/** The tutorial policy of contract/policy.md (notes part), created through the SDK's schema API. */
export async function applyTutorialPolicy(permit: Permit): Promise<void> {
  await permit.api.resources.create({
    key: "notes",
    name: "Notes",
    actions: { get: {}, post: {}, put: {}, delete: {} },
    attributes: { owner: { type: "string" }, workspace: { type: "string" } },
  });
  await permit.api.roles.create({ key: "admin", name: "Admin", permissions: ["notes:get", "notes:post", "notes:put", "notes:delete"] });
  await permit.api.roles.create({ key: "user", name: "User", permissions: ["notes:get", "notes:post"] });
  await permit.api.conditionSets.create({
    key: "own_notes",
    name: "Own notes",
    type: "resourceset",
    resource_id: "notes",
    conditions: { allOf: [{ "resource.owner": { equals: { ref: "user.key" } } }] },
  });
  await permit.api.conditionSetRules.create({ user_set: "__autogen_user", permission: "notes:put", resource_set: "own_notes" });
  // The `is_role` shorthand names the role; the PDP stores it as __autogen_user.
  await permit.api.conditionSetRules.create({ user_set: "user", is_role: true, permission: "notes:delete", resource_set: "own_notes" });
}

/** Workspaces and the note roles derived from them (contract/policy.md, ReBAC part). */
export async function applyWorkspacePolicy(permit: Permit): Promise<void> {
  await permit.api.resources.create({
    key: "workspaces",
    name: "Workspaces",
    actions: { get: {}, post: {}, put: {}, delete: {}, share: {}, add_note: {} },
    attributes: { owner: { type: "string" } },
  });
  await permit.api.resourceRelations.create("notes", { key: "parent", name: "Parent", subject_resource: "workspaces" });
  await permit.api.resourceRoles.create("workspaces", { key: "owner", name: "Owner", permissions: ["get", "put", "delete", "share", "add_note"] });
  await permit.api.resourceRoles.create("workspaces", { key: "editor", name: "Editor", permissions: ["get", "add_note"] });
  await permit.api.resourceRoles.create("workspaces", { key: "viewer", name: "Viewer", permissions: ["get"] });
  const derived = (role: string) => ({ users_with_role: [{ role, on_resource: "workspaces", linked_by_relation: "parent" }] });
  await permit.api.resourceRoles.create("notes", { key: "manager", name: "Manager", permissions: ["get", "put", "delete"], granted_to: derived("owner") });
  await permit.api.resourceRoles.create("notes", { key: "editor", name: "Editor", permissions: ["get", "put"], granted_to: derived("editor") });
  await permit.api.resourceRoles.create("notes", { key: "viewer", name: "Viewer", permissions: ["get"] });
  // The same derivation through the implicit_grants endpoint.
  await permit.api.resourceRoles.createRoleDerivation("notes", "viewer", { role: "viewer", on_resource: "workspaces", linked_by_relation: "parent" });
}

export async function syncUsers(permit: Permit, users: string[], role?: string, tenant = "default"): Promise<void> {
  for (const key of users) {
    await permit.api.users.sync({ key, email: `${key}@example.com` });
    if (role) await permit.api.roleAssignments.assign({ user: key, role, tenant });
  }
}

/** Latest decision-log entries (newest first). */
export async function decisionLog(h: Harness, query = ""): Promise<{ allow: boolean; allowed_by: string[]; codes: Record<string, string>; user: string; action: string }[]> {
  const res = await h.raw("GET", `/local/decisions${query}`);
  return (res.body as { decisions: { allow: boolean; allowed_by: string[]; codes: Record<string, string>; user: string; action: string }[] }).decisions;
}
