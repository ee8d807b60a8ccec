/**
 * `npm run permit -- explain` against the tutorial cases, on a running API (its database and
 * local PDP): each explanation must name the real reason — the grant that actually allowed,
 * with its path or attribute values — and for a deny, what would have allowed it.
 */
import type { Permit } from "permitio";
import { main } from "../../src/cli/permit";
import type { Explanation } from "../../src/authz/explain";
import { explainDecision } from "../../src/authz/explain";
import { noteResource } from "../../src/authz/resources";
import { permitDecisionFacts } from "../../src/permit/decision-facts";
import { CreateNoteDocument, CreateWorkspaceDocument, MeDocument, ShareWorkspaceDocument } from "../generated/graphql";
import { dataOf, startTestApi, type TestApi } from "../support/api";
import { pointCommandLineAt, runCli } from "../support/cli";
import { permitAdmin } from "../support/permit";

let api: TestApi;
let permit: Permit;
let restoreEnv = () => {};
const users: Record<string, { token: string; id: string; email: string }> = {};
let personalNote: string;
let workspace: string;
let workspaceNote: string;

async function signIn(name: string) {
  const email = `${name}@example.com`;
  const token = await api.token(email);
  const id = (await api.gql(MeDocument, {}, token)).data!.me.id;
  users[name] = { token, id, email };
}

const setPlan = (name: string, plan: string | undefined) => permit.api.users.update(users[name]!.id, { attributes: plan ? { plan } : {} });

beforeAll(async () => {
  api = await startTestApi();
  permit = permitAdmin(api.permit);
  restoreEnv = pointCommandLineAt(api);
  for (const name of ["alice", "bob", "carol", "dave"]) await signIn(name);
  personalNote = (await api.gql(CreateNoteDocument, { input: { title: "alice's own" } }, users.alice!.token)).data!.createNote.id;
  await setPlan("alice", "premium");
  workspace = (await api.gql(CreateWorkspaceDocument, { input: { name: "team" } }, users.alice!.token)).data!.createWorkspace.id;
  workspaceNote = (await api.gql(CreateNoteDocument, { input: { title: "team note", workspaceId: workspace } }, users.alice!.token)).data!.createNote.id;
  for (const [name, role] of [["bob", "EDITOR"], ["carol", "VIEWER"]] as const) {
    dataOf(await api.gql(ShareWorkspaceDocument, { workspaceId: workspace, email: users[name]!.email, role }, users.alice!.token));
  }
});
afterAll(async () => {
  restoreEnv();
  await api?.stop();
});

const cli = (...argv: string[]) => runCli(main, "explain", ...argv);

async function explain(...argv: string[]): Promise<Explanation> {
  const { code, err, text } = await cli(...argv, "--json");
  expect({ code, err }).toEqual({ code: 0, err: [] });
  return JSON.parse(text) as Explanation;
}

const texts = (e: Explanation) => e.wouldAllow.map((r) => r.text);

describe("permit explain", () => {
  it("owner vs not: the own_notes condition set, with the attribute values it read", async () => {
    const owner = await explain(users.alice!.email, "put", `notes:${personalNote}`);
    expect(owner).toEqual(
      expect.objectContaining({ decision: "allow", source: "pdp-debug", resource: `notes:${personalNote}`, tenantRoles: ["user"], wouldAllow: [] }),
    );
    expect(owner.grants).toEqual([
      {
        kind: "condition-set",
        userSet: "__autogen_user",
        resourceSet: "own_notes",
        attributes: { "resource.owner": users.alice!.id, "user.key": users.alice!.id, "user.roles": ["user"] },
        text: "role user and resource.owner == you grants notes:put",
      },
    ]);

    const other = await explain(users.dave!.email, "put", `notes:${personalNote}`);
    expect(other).toEqual(expect.objectContaining({ decision: "deny", grants: [], resourceAttributes: { owner: users.alice!.id } }));
    expect(texts(other)).toEqual(["role admin", "role user and resource.owner == you", `manager on notes:${personalNote}`, `editor on notes:${personalNote}`]);
  });

  it("admin: the tenant role; an admin who is also the owner gets both reasons", async () => {
    await permit.api.roleAssignments.assign({ user: users.dave!.id, role: "admin", tenant: "default" });
    await permit.api.roleAssignments.assign({ user: users.alice!.id, role: "admin", tenant: "default" });
    try {
      const admin = await explain(users.dave!.id, "delete", `notes:${personalNote}`);
      expect(admin.decision).toBe("allow");
      expect(admin.grants).toEqual([{ kind: "tenant-role", role: "admin", text: "tenant role admin grants notes:delete" }]);

      const adminOwner = await explain(users.alice!.email, "delete", `notes:${personalNote}`);
      expect(adminOwner.grants.map((g) => g.kind === "condition-set" ? `set ${g.resourceSet}` : g.kind === "tenant-role" ? `role ${g.role}` : g.kind)).toEqual([
        "role admin",
        "set own_notes",
      ]);
    } finally {
      await permit.api.roleAssignments.unassign({ user: users.dave!.id, role: "admin", tenant: "default" });
      await permit.api.roleAssignments.unassign({ user: users.alice!.id, role: "admin", tenant: "default" });
    }
    expect((await explain(users.dave!.id, "delete", `notes:${personalNote}`)).decision).toBe("deny");
  });

  it("workspace editor vs viewer: the derived role with its path, and what the viewer lacks", async () => {
    const editor = await explain(users.bob!.email, "put", `notes:${workspaceNote}`);
    expect(editor.decision).toBe("allow");
    expect(editor.grants).toEqual([
      {
        kind: "resource-role",
        role: "editor",
        path: [`workspaces:${workspace}#editor`, `notes:${workspaceNote}#editor`],
        derived: true,
        text: `workspaces:${workspace}#editor → notes:${workspaceNote}#editor grants put`,
      },
    ]);

    const viewer = await explain(users.carol!.email, "put", `notes:${workspaceNote}`);
    expect(viewer.decision).toBe("deny");
    expect(texts(viewer)).toEqual([
      "role admin",
      "role user and resource.owner == you",
      `manager on notes:${workspaceNote}`,
      `owner on workspaces:${workspace}`,
      `editor on notes:${workspaceNote}`,
      `editor on workspaces:${workspace}`,
    ]);
    // What the viewer does have: get, through the tenant role and the derived viewer role.
    const reads = await explain(users.carol!.email, "get", `notes:${workspaceNote}`);
    expect(reads.grants.map((g) => g.text)).toEqual([
      "tenant role user grants notes:get",
      `workspaces:${workspace}#viewer → notes:${workspaceNote}#viewer grants get`,
    ]);
  });

  it("premium vs not: the premium condition set on the user's plan, for a type-level check", async () => {
    const basic = await explain(users.dave!.email, "post", "workspaces");
    expect(basic).toEqual(expect.objectContaining({ decision: "deny", resource: "workspaces", grants: [] }));
    expect(texts(basic)).toEqual(["role admin", 'user.plan == "premium"']);

    await setPlan("dave", "premium");
    try {
      const premium = await explain(users.dave!.email, "post", "workspaces");
      expect(premium.decision).toBe("allow");
      expect(premium.grants).toEqual([
        {
          kind: "condition-set",
          userSet: "premium",
          resourceSet: "__autogen_workspaces",
          attributes: { "user.plan": "premium" },
          text: 'user.plan == "premium" grants workspaces:post',
        },
      ]);
    } finally {
      await setPlan("dave", undefined);
    }
  });

  it("without the PDP's debug, computes the same reasons from the policy and Permit's facts, and says so", async () => {
    const facts = permitDecisionFacts(permit, "default");
    const noDebug = { ...facts, check: async (request: Parameters<typeof facts.check>[0]) => ({ allow: (await facts.check(request)).allow }) };
    const [note] = await api.gql(CreateNoteDocument, { input: { title: "x" } }, users.bob!.token).then((r) => [r.data!.createNote]);
    const stored = noteResource({ id: note!.id, ownerId: users.bob!.id, workspaceId: null });
    for (const [userId, action, resource] of [
      [users.bob!.id, "put", stored],
      [users.dave!.id, "put", stored],
      [users.bob!.id, "put", noteResource({ id: workspaceNote, ownerId: users.alice!.id, workspaceId: workspace })],
      [users.carol!.id, "delete", noteResource({ id: workspaceNote, ownerId: users.alice!.id, workspaceId: workspace })],
    ] as const) {
      const fromDebug = await explainDecision({ userId, action, resource }, { facts });
      const computed = await explainDecision({ userId, action, resource }, { facts: noDebug });
      expect(fromDebug.source).toBe("pdp-debug");
      expect(computed.source).toBe("policy");
      expect({ decision: computed.decision, grants: computed.grants, wouldAllow: computed.wouldAllow }).toEqual({
        decision: fromDebug.decision,
        grants: fromDebug.grants,
        wouldAllow: fromDebug.wouldAllow,
      });
    }
  });

  it("prints the decision and what would allow it as text, naming its source", async () => {
    const { code, out } = await cli(users.dave!.email, "delete", `notes:${personalNote}`);
    expect(code).toBe(0);
    expect(out[0]).toBe(`DENY: ${users.dave!.id} delete notes:${personalNote}`);
    expect(out[1]).toMatch(/^ {2}source: the PDP's debug output \(/);
    expect(out).toContain(`  needs role admin, or role user and resource.owner == you, or manager on notes:${personalNote}`);
  });

  it("refuses an unknown action, type or row with a clear message", async () => {
    expect(await cli(users.dave!.email, "share", "notes")).toEqual(expect.objectContaining({ code: 2, err: [expect.stringContaining('Unknown action "share" on notes')] }));
    expect(await cli(users.dave!.email, "get", "pages")).toEqual(expect.objectContaining({ code: 2, err: [expect.stringContaining('Unknown resource type "pages"')] }));
    const absent = "00000000-0000-4000-8000-000000000000";
    expect(await cli(users.dave!.email, "get", `notes:${absent}`)).toMatchObject({ code: 1, out: [], err: [`There is no note ${absent} in the database.`] });
  });
});
