/**
 * The fact writers against the local Permit-compatible PDP, through the real SDK, and the
 * ReBAC decisions of contract/policy.md that those facts produce.
 */
import net from "node:net";
import pino from "pino";
import type { Permit } from "permitio";
import { startHttpRelay } from "../../test/support/http-relay";
import { startPolicyPdp } from "../../test/support/policy-pdp";
import { startTcpProxy } from "../../test/support/tcp-proxy";
import { failureKind } from "../outbox/delivery";
import { Authorizer } from "../authz/authorizer";
import { createPermitClient } from "./client";
import { PermitFactError, PermitFacts } from "./fact-writer";
import { WorkspaceRole } from "../workspaces/workspace-member.entity";

const API_KEY = "permit-facts-test-key";
const TENANT = "default";
const silent = pino({ level: "silent" });

let pdp: { url: string; close(): Promise<void> };
let permit: Permit;
let facts: PermitFacts;

beforeAll(async () => {
  ({ pdp, permit } = await startPolicyPdp(API_KEY, TENANT));
  facts = new PermitFacts({ permit, tenant: TENANT, logger: silent });
});
afterAll(() => pdp?.close());

/** One "request" of `user`: a fresh Authorizer, so nothing is memoized across assertions. */
async function decisions(user: string, type: string, key: string, actions: string[]): Promise<Record<string, boolean>> {
  const a = new Authorizer({ permit, user: { userId: user }, tenant: TENANT, logger: silent });
  const answers = await Promise.all(actions.map((action) => a.can(action, { type, key })));
  return Object.fromEntries(actions.map((action, i) => [action, answers[i]]));
}

const NOTE_ACTIONS = ["get", "put", "delete"];
const WORKSPACE_ACTIONS = ["get", "put", "delete", "share", "add_note"];

async function userRoleAssignments(user: string) {
  return (await permit.api.roleAssignments.list({ user, tenant: TENANT })).filter((a) => !a.resource_instance);
}

describe("syncUser", () => {
  it("creates the user and assigns `user` once", async () => {
    await expect(facts.syncUser({ key: "sync-1", email: "sync-1@example.com" })).resolves.toEqual({ created: true, assignedUserRole: true });
    await expect(facts.tenantRoles("sync-1")).resolves.toEqual(["user"]);
    await expect(facts.syncUser({ key: "sync-1", email: "sync-1@example.com" })).resolves.toEqual({ created: false, assignedUserRole: false });
    expect((await userRoleAssignments("sync-1")).map((a) => a.role)).toEqual(["user"]);
    await expect(permit.api.users.get("sync-1")).resolves.toMatchObject({ key: "sync-1", email: "sync-1@example.com" });
  });

  it("does not overwrite an admin role or a plan attribute granted later", async () => {
    await facts.syncUser({ key: "sync-2", email: "sync-2@example.com" });
    await permit.api.roleAssignments.assign({ user: "sync-2", role: "admin", tenant: TENANT });
    await permit.api.users.update("sync-2", { attributes: { plan: "premium" } });

    await expect(facts.syncUser({ key: "sync-2", email: "sync-2@example.org" })).resolves.toEqual({ created: false, assignedUserRole: false });
    await expect(facts.tenantRoles("sync-2")).resolves.toEqual(["admin", "user"]);
    const user = await permit.api.users.get("sync-2");
    expect(user.attributes).toMatchObject({ plan: "premium" });
    expect(user.email).toBe("sync-2@example.org");
    await expect(decisions("sync-2", "workspaces", "", ["post"]).then((d) => d.post)).resolves.toBe(true);
  });

  it("gives back the `user` role to a known user who lost it", async () => {
    await facts.syncUser({ key: "sync-3" });
    await permit.api.roleAssignments.unassign({ user: "sync-3", role: "user", tenant: TENANT });
    await expect(facts.tenantRoles("sync-3")).resolves.toEqual([]);
    await expect(facts.syncUser({ key: "sync-3" })).resolves.toEqual({ created: false, assignedUserRole: true });
    await expect(facts.tenantRoles("sync-3")).resolves.toEqual(["user"]);
  });

  it("lists tenant roles only, not roles on workspaces", async () => {
    await facts.syncUser({ key: "sync-4" });
    await facts.createWorkspace("w-sync-4", "sync-4");
    await expect(facts.tenantRoles("sync-4")).resolves.toEqual(["user"]);
  });
});

describe("workspace and note facts (ReBAC)", () => {
  const W = "w-rebac";
  beforeAll(async () => {
    for (const key of ["owner", "editor", "viewer", "outsider"]) await facts.syncUser({ key });
    await facts.createWorkspace(W, "owner");
    await facts.setWorkspaceRole(W, "editor", WorkspaceRole.EDITOR);
    await facts.setWorkspaceRole(W, "viewer", "viewer");
    await facts.createNote("n-by-owner", "owner", W);
    await facts.createNote("n-by-editor", "editor", W);
  });

  it("gives the workspace owner every workspace action, nobody else share", async () => {
    expect(await decisions("owner", "workspaces", W, WORKSPACE_ACTIONS)).toEqual({ get: true, put: true, delete: true, share: true, add_note: true });
    expect(await decisions("editor", "workspaces", W, WORKSPACE_ACTIONS)).toEqual({ get: true, put: false, delete: false, share: false, add_note: true });
    expect(await decisions("viewer", "workspaces", W, WORKSPACE_ACTIONS)).toEqual({ get: true, put: false, delete: false, share: false, add_note: false });
    expect(await decisions("outsider", "workspaces", W, WORKSPACE_ACTIONS)).toEqual({ get: false, put: false, delete: false, share: false, add_note: false });
  });

  it("lets the workspace owner put and delete every note in it, an editor get and put, a viewer get", async () => {
    expect(await decisions("owner", "notes", "n-by-editor", NOTE_ACTIONS)).toEqual({ get: true, put: true, delete: true });
    expect(await decisions("editor", "notes", "n-by-owner", NOTE_ACTIONS)).toEqual({ get: true, put: true, delete: false });
    expect(await decisions("viewer", "notes", "n-by-owner", NOTE_ACTIONS)).toEqual({ get: true, put: false, delete: false });
  });

  it("gives an outsider (who has the tenant role `user`) only the RBAC `get`, nothing through the workspace", async () => {
    // `user` may get any note by RBAC (contract/policy.md); the workspace adds nothing for an outsider.
    expect(await decisions("outsider", "notes", "n-by-owner", NOTE_ACTIONS)).toEqual({ get: true, put: false, delete: false });
    const unsynced = await decisions("not-a-user", "notes", "n-by-owner", NOTE_ACTIONS);
    expect(unsynced).toEqual({ get: false, put: false, delete: false });
  });

  it("keeps the author's own-note rights on a note in a workspace (ABAC on the stored owner)", async () => {
    expect(await decisions("editor", "notes", "n-by-editor", NOTE_ACTIONS)).toEqual({ get: true, put: true, delete: true });
    expect(await decisions("viewer", "notes", "n-by-editor", NOTE_ACTIONS)).toEqual({ get: true, put: false, delete: false });
  });

  it("replaces the previous role on setWorkspaceRole", async () => {
    await facts.syncUser({ key: "mover" });
    await facts.setWorkspaceRole(W, "mover", WorkspaceRole.EDITOR);
    expect(await decisions("mover", "notes", "n-by-owner", ["put"])).toEqual({ put: true });

    await facts.setWorkspaceRole(W, "mover", WorkspaceRole.VIEWER);
    expect(await decisions("mover", "notes", "n-by-owner", ["get", "put"])).toEqual({ get: true, put: false });
    const onW = (await permit.api.roleAssignments.list({ user: "mover", tenant: TENANT, resourceInstance: `workspaces:${W}` })).map((a) => a.role);
    expect(onW).toEqual(["viewer"]);

    await facts.setWorkspaceRole(W, "mover", WorkspaceRole.OWNER);
    expect(await decisions("mover", "notes", "n-by-editor", ["delete"])).toEqual({ delete: true });
    await facts.setWorkspaceRole(W, "mover", WorkspaceRole.OWNER);
  });

  it("revokes everything on removeWorkspaceRole, and is idempotent", async () => {
    await facts.syncUser({ key: "leaver" });
    await facts.setWorkspaceRole(W, "leaver", WorkspaceRole.EDITOR);
    expect(await decisions("leaver", "workspaces", W, ["get"])).toEqual({ get: true });
    await facts.removeWorkspaceRole(W, "leaver");
    await facts.removeWorkspaceRole(W, "leaver");
    expect(await decisions("leaver", "workspaces", W, ["get", "add_note"])).toEqual({ get: false, add_note: false });
    expect(await decisions("leaver", "notes", "n-by-owner", ["put"])).toEqual({ put: false });
  });

  it("can share with a user who never signed in", async () => {
    await facts.setWorkspaceRole(W, "future-user", WorkspaceRole.VIEWER);
    expect(await decisions("future-user", "workspaces", W, ["get", "add_note"])).toEqual({ get: true, add_note: false });
  });

  it("treats repeated creates and deletes as done", async () => {
    await facts.createWorkspace("w-idem", "owner");
    await facts.createWorkspace("w-idem", "owner");
    await facts.createNote("n-idem", "owner", "w-idem");
    await facts.createNote("n-idem", "owner", "w-idem");
    await facts.setWorkspaceRole("w-idem", "viewer", WorkspaceRole.VIEWER);
    expect(await decisions("viewer", "notes", "n-idem", ["get"])).toEqual({ get: true });

    await facts.deleteNote("n-idem");
    await facts.deleteNote("n-idem");
    // The tuple went with the note: the workspace no longer gives the viewer anything on it.
    const viewer = new Authorizer({ permit, user: { userId: "viewer" }, tenant: TENANT, logger: silent });
    await expect(viewer.can("put", { type: "notes", key: "n-idem" })).resolves.toBe(false);
    await expect(permit.api.resourceInstances.get("notes:n-idem")).rejects.toMatchObject({ response: { status: 404 } });

    await facts.deleteWorkspace("w-idem");
    await facts.deleteWorkspace("w-idem");
    expect(await decisions("owner", "workspaces", "w-idem", ["get", "share"])).toEqual({ get: false, share: false });
  });

  it("stores the note's owner and workspace as instance attributes", async () => {
    await expect(permit.api.resourceInstances.get("notes:n-by-editor")).resolves.toMatchObject({
      attributes: { owner: "editor", workspace: W },
    });
    await facts.createNote("n-personal", "viewer");
    const personal = await permit.api.resourceInstances.get("notes:n-personal");
    expect(personal.attributes).toEqual({ owner: "viewer" });
  });

  it("refuses an unknown role before touching the current one", async () => {
    await expect(facts.setWorkspaceRole(W, "owner", "superuser" as never)).rejects.toThrow(/Unknown workspace role/);
    expect(await decisions("owner", "workspaces", W, ["share"])).toEqual({ share: true });
  });
});

describe("PermitFactError", () => {
  it("marks an unreachable Permit as retryable and never carries the API key", async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as net.AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    const down = createPermitClient({ apiKey: API_KEY, pdpUrl: `http://127.0.0.1:${port}`, apiUrl: `http://127.0.0.1:${port}`, timeoutMs: 500 }, silent);
    const err = await new PermitFacts({ permit: down, tenant: TENANT }).createNote("n", "u").then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(PermitFactError);
    expect((err as PermitFactError).retryable).toBe(true);
    expect(JSON.stringify(err) + String(err) + JSON.stringify((err as PermitFactError).failure)).not.toContain(API_KEY);
  });

  it("takes a write that timed out for transient", async () => {
    const proxy = await startTcpProxy(new URL(pdp.url));
    proxy.mode = "hang";
    try {
      const hanging = createPermitClient({ apiKey: API_KEY, pdpUrl: pdp.url, apiUrl: proxy.url, timeoutMs: 200, restTimeoutMs: 300 }, silent);
      const started = Date.now();
      const err = await new PermitFacts({ permit: hanging, tenant: TENANT }).createNote("n-timeout", "u").then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(Date.now() - started).toBeLessThan(3000);
      expect(err).toBeInstanceOf(PermitFactError);
      expect(failureKind(err)).toBe("transient");
    } finally {
      await proxy.close();
    }
  });

  it.each([
    [422, "rejected"],
    [400, "rejected"],
    [404, "rejected"],
    [401, "transient"],
    [403, "transient"],
    [408, "transient"],
    [429, "transient"],
    [500, "transient"],
    [503, "transient"],
  ] as const)("takes an answer %i from Permit's API for %s, and delivery agrees", async (status, kind) => {
    const relay = await startHttpRelay(new URL(pdp.url));
    try {
      const viaRelay = createPermitClient({ apiKey: API_KEY, pdpUrl: pdp.url, apiUrl: relay.url, timeoutMs: 500 }, silent);
      relay.answer = (request) => (request.method === "POST" && request.body.includes("w-refused") ? status : undefined);
      const err = await new PermitFacts({ permit: viaRelay, tenant: TENANT }).createWorkspace("w-refused", "owner").then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(PermitFactError);
      expect((err as PermitFactError).status).toBe(status);
      expect((err as PermitFactError).retryable).toBe(kind === "transient");
      expect(failureKind(err)).toBe(kind);
      expect(relay.answered).toHaveLength(1);
      // The pair: the same client writes what the relay lets through.
      await new PermitFacts({ permit: viaRelay, tenant: TENANT }).createWorkspace(`w-passed-${status}`, "owner");
      expect((await permit.api.resourceInstances.get(`workspaces:w-passed-${status}`)).attributes).toEqual({ owner: "owner" });
    } finally {
      await relay.close();
    }
  });
});
