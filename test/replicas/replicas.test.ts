/**
 * Two real API processes on one database and one PDP, with one replica's way to Permit's REST
 * API slowed, stalled or killed. After every scenario the PDP must hold exactly the facts the
 * database implies.
 */
import { databaseFacts, pdpFacts } from "../support/pdp-state";
import { pdpStats, resetPdpStats } from "../support/permit";
import { startReplicas, type GqlResult, type Replica, type ReplicaSet } from "../support/replicas";

jest.setTimeout(90_000);

let set: ReplicaSet;

beforeAll(async () => {
  set = await startReplicas();
}, 120_000);
afterAll(() => set?.stop());

const CREATE_WORKSPACE = `mutation($name: String!) { createWorkspace(input: { name: $name }) { id } }`;
const SHARE = `mutation($w: ID!, $email: String!, $role: WorkspaceRole!) { shareWorkspace(workspaceId: $w, email: $email, role: $role) { role } }`;
const UNSHARE = `mutation($w: ID!, $u: ID!) { unshareWorkspace(workspaceId: $w, userId: $u) }`;
const CREATE_NOTE = `mutation($title: String!, $w: ID) { createNote(input: { title: $title, workspaceId: $w }) { id } }`;
const DELETE_NOTE = `mutation($id: ID!) { deleteNote(id: $id) }`;
const WORKSPACE = `query($id: ID!) { workspace(id: $id) { id viewerCan { addNote } } }`;
const ME = `{ me { id } }`;

const ok = (res: GqlResult) => {
  expect(res.errors).toBeUndefined();
  return res.data!;
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const waitFor = async (condition: () => boolean, timeoutMs = 5000) => {
  for (const deadline = Date.now() + timeoutMs; !condition() && Date.now() < deadline; ) await sleep(20);
};

async function expectPdpMatchesDatabase(): Promise<void> {
  await set.settle();
  expect(await pdpFacts(set.permit)).toEqual(await databaseFacts(set.sql));
}

async function signIn(email: string, via: Replica = set.a): Promise<string> {
  const token = await set.token(email);
  ok(await via.gql(ME, {}, token));
  return token;
}

async function premium(email: string): Promise<void> {
  await set.permit.api.users.update(set.userIdFor(email), { attributes: { plan: "premium" } });
}

async function workspaceOf(ownerToken: string, name: string): Promise<string> {
  return (ok(await set.a.gql(CREATE_WORKSPACE, { name }, ownerToken)).createWorkspace as { id: string }).id;
}

/** Runs `body` with replica `r`'s calls to Permit's REST API late by `delayMs`. */
async function withSlowFacts<T>(r: Replica, delayMs: number, body: () => Promise<T>): Promise<T> {
  r.apiProxy.delayMs = delayMs;
  r.apiProxy.mode = "slow";
  try {
    return await body();
  } finally {
    r.apiProxy.mode = "forward";
  }
}

const count = (stats: Record<string, number>, method: string, suffix: string) =>
  Object.entries(stats)
    .filter(([route]) => route.startsWith(`${method} /v2/facts/`) && route.endsWith(suffix))
    .reduce((sum, [, n]) => sum + n, 0);

describe("two replicas on one database and one PDP", () => {
  it("syncs 20 new users exactly once when their first requests are spread over both", async () => {
    await resetPdpStats(set.permitSettings);
    const tokens = await Promise.all(Array.from({ length: 20 }, (_, i) => set.token(`burst${i}@example.com`)));
    const results = await Promise.all(tokens.flatMap((t) => [set.a.gql(ME, {}, t), set.b.gql(ME, {}, t), set.a.gql(ME, {}, t), set.b.gql(ME, {}, t)]));
    for (const res of results) ok(res);
    const stats = await pdpStats(set.permitSettings);
    expect(count(stats, "POST", "/users")).toBe(20);
    expect(count(stats, "POST", "/role_assignments")).toBe(20);
    const synced = await set.sql<{ n: number }>(`SELECT count(*)::int AS n FROM users WHERE email LIKE 'burst%' AND permit_synced_at IS NOT NULL`);
    expect(synced[0]!.n).toBe(20);
  });

  it("never gives back a role removed in Permit, whichever replica the user reaches next", async () => {
    const token = await signIn("demoted@example.com", set.a);
    const key = set.userIdFor("demoted@example.com");
    await set.permit.api.roleAssignments.unassign({ user: key, role: "user", tenant: "default" });
    await resetPdpStats(set.permitSettings);
    // The other replica has never seen this user.
    const res = await set.b.gql(ME, {}, token);
    expect(res.errors).toBeUndefined();
    const roles = await set.permit.api.roleAssignments.list({ user: key, tenant: "default" });
    expect(roles.filter((r) => !r.resource_instance).map((r) => r.role)).toEqual([]);
    expect(count(await pdpStats(set.permitSettings), "POST", "/role_assignments")).toBe(0);
  });

  describe("facts apply in commit order whatever the delivery timing", () => {
    let owner: string;
    let member: string;
    beforeAll(async () => {
      owner = await signIn("owner@example.com");
      member = await signIn("member@example.com", set.b);
      await premium("owner@example.com");
    });

    it("an EDITOR demoted to VIEWER through B, while A's grant is slow, ends as VIEWER", async () => {
      const w = await workspaceOf(owner, "order-1");
      await withSlowFacts(set.a, 600, async () => {
        const grant = set.a.gql(SHARE, { w, email: "member@example.com", role: "EDITOR" }, owner);
        await sleep(300); // A is delivering the grant
        const demote = set.b.gql(SHARE, { w, email: "member@example.com", role: "VIEWER" }, owner);
        ok(await grant);
        ok(await demote);
      });
      await expectPdpMatchesDatabase();
      const seen = await set.b.gql(WORKSPACE, { id: w }, member);
      expect((ok(seen).workspace as { viewerCan: { addNote: boolean } }).viewerCan.addNote).toBe(false);
      const denied = await set.a.gql(CREATE_NOTE, { title: "as viewer", w }, member);
      expect(denied.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    });

    it("a VIEWER added through A and removed through B loses access", async () => {
      const w = await workspaceOf(owner, "order-2");
      await withSlowFacts(set.a, 600, async () => {
        const add = set.a.gql(SHARE, { w, email: "member@example.com", role: "VIEWER" }, owner);
        await sleep(300);
        const remove = set.b.gql(UNSHARE, { w, u: set.userIdFor("member@example.com") }, owner);
        ok(await add);
        expect(ok(await remove).unshareWorkspace).toBe(true);
      });
      await expectPdpMatchesDatabase();
      for (const r of [set.a, set.b]) {
        expect((await r.gql(WORKSPACE, { id: w }, member)).errors?.[0]?.extensions?.code).toBe("NOT_FOUND");
      }
    });

    it("a note created through A and deleted through B leaves nothing in the PDP", async () => {
      const w = await workspaceOf(owner, "order-3");
      await withSlowFacts(set.a, 600, async () => {
        const created = set.a.gql(CREATE_NOTE, { title: "short-lived", w }, owner);
        // The row is committed before its fact is delivered; delete it as soon as it is visible.
        let id: string | undefined;
        while (!id) {
          const [row] = await set.sql<{ id: string }>(`SELECT id FROM notes WHERE title = 'short-lived'`);
          id = row?.id;
          if (!id) await sleep(10);
        }
        ok(await set.b.gql(DELETE_NOTE, { id }, owner));
        ok(await created);
      });
      await expectPdpMatchesDatabase();
      expect((await pdpFacts(set.permit)).instances.some((i) => i.includes("short-lived"))).toBe(false);
    });
  });

  it("a mutation on A whose fact B is delivering answers only after the PDP acknowledged it", async () => {
    const owner = await signIn("owner@example.com");
    await withSlowFacts(set.b, 400, async () => {
      // B takes the delivery lock with a slow workspace (two REST calls) …
      const busy = set.b.gql(CREATE_WORKSPACE, { name: "slow on B" }, owner);
      await sleep(150);
      // … and A's fact queues behind it, to be delivered by B.
      const started = Date.now();
      const res = await set.a.gql(CREATE_NOTE, { title: "delivered by B" }, owner);
      const answeredAfter = Date.now() - started;
      const id = (ok(res).createNote as { id: string }).id;
      expect(res.extensions?.factsPending).toBeUndefined();
      const [fact] = await set.sql<{ delivered: boolean }>(
        `SELECT delivered_at IS NOT NULL AS delivered FROM permit_outbox WHERE kind = 'note.created' AND payload->>'noteId' = $1`,
        [id],
      );
      expect(fact!.delivered).toBe(true);
      // A had to wait for B's slow delivery: it did not answer at once.
      expect(answeredAfter).toBeGreaterThan(300);
      expect((await set.permit.api.resourceInstances.get(`notes:${id}`)).key).toBe(id);
      ok(await busy);
    });
    await expectPdpMatchesDatabase();
  });

  it("says factsPending when its facts could not be delivered within the wait, and delivers them later", async () => {
    const owner = await signIn("pending@example.com");
    // Both replicas' REST calls hang: whichever holds the delivery lock, the fact stays undelivered.
    set.a.apiProxy.mode = "hang";
    set.b.apiProxy.mode = "hang";
    let id: string;
    try {
      const res = await set.a.gql(CREATE_NOTE, { title: "pending" }, owner);
      id = (ok(res).createNote as { id: string }).id;
      expect(res.extensions?.factsPending).toBe(true);
      // The log line arrives over the child's stdout, possibly just after the response.
      await waitFor(() => /"factsPending":true/.test(set.a.log()));
      expect(set.a.log()).toMatch(/"factsPending":true,"operationName":null,"user":"[0-9a-f-]{36}"/);
    } finally {
      set.a.apiProxy.mode = "forward";
      set.b.apiProxy.mode = "forward";
    }
    // A mutation whose facts were acknowledged says nothing of the kind.
    const next = await set.b.gql(CREATE_NOTE, { title: "acknowledged" }, owner);
    expect(next.extensions?.factsPending).toBeUndefined();
    await expectPdpMatchesDatabase();
    expect((await set.permit.api.resourceInstances.get(`notes:${id}`)).key).toBe(id);
  });

  it("lets the sharee read through the other replica as soon as the share returns", async () => {
    const owner = await signIn("owner@example.com");
    await premium("owner@example.com");
    const reader = await signIn("reader@example.com", set.b);
    for (let i = 0; i < 5; i++) {
      const w = await workspaceOf(owner, `read-your-writes-${i}`);
      const shared = await set.a.gql(SHARE, { w, email: "reader@example.com", role: "VIEWER" }, owner);
      ok(shared);
      expect(shared.extensions?.factsPending).toBeUndefined();
      // The first read, on the other replica, already sees it.
      expect((ok(await set.b.gql(WORKSPACE, { id: w }, reader)).workspace as { id: string }).id).toBe(w);
    }
  });

  it("loses and duplicates nothing when A is killed with SIGKILL mid-burst", async () => {
    const owner = await signIn("owner@example.com");
    await premium("owner@example.com");
    const w = await workspaceOf(owner, "burst");
    set.a.apiProxy.delayMs = 50;
    set.a.apiProxy.mode = "slow";
    const writes: Promise<unknown>[] = [];
    for (let i = 0; i < 30; i++) {
      const via = i % 2 === 0 ? set.a : set.b;
      writes.push(via.gql(CREATE_NOTE, { title: `burst ${i}`, w: i % 3 === 0 ? w : null }, owner).catch((error: unknown) => error));
      if (i === 14) {
        await sleep(100);
        await set.a.kill("SIGKILL");
      }
    }
    await Promise.all(writes);
    // B's background loop delivers what A recorded and left behind.
    await expectPdpMatchesDatabase();
    const [{ n }] = (await set.sql<{ n: number }>(`SELECT count(*)::int AS n FROM notes WHERE title LIKE 'burst %'`)) as [{ n: number }];
    expect(n).toBeGreaterThanOrEqual(15);
  });
});
