/**
 * `npm run seed` against a running API on the same DATA_DIR: the demo world, written through the
 * API; a second run changes nothing; the demo users can do what the README says they can.
 * And on a DATA_DIR with no API running, it starts one for the run.
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parse } from "graphql";
import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { codes, startTestApi, type TestApi } from "../support/api";
import { runCliProcess } from "../support/cli";
import { databaseFacts, pdpFacts } from "../support/pdp-state";
import { permitAdmin } from "../support/permit";

let api: TestApi;

beforeAll(async () => {
  api = await startTestApi();
});
afterAll(() => api.stop());

const runSeed = (dataDir: string) => runCliProcess("src/cli/seed.ts", [], dataDir);

const op = (text: string) => parse(text) as TypedDocumentNode<Record<string, unknown>, Record<string, unknown>>;

async function state() {
  const rows = await api.dataSource.query(
    `SELECT u.email, w.name, wm.role FROM workspace_members wm JOIN users u ON u.id = wm.user_id JOIN workspaces w ON w.id = wm.workspace_id ORDER BY 1, 2`,
  );
  const notes = await api.dataSource.query(`SELECT u.email, n.title, n.workspace_id IS NOT NULL AS shared FROM notes n JOIN users u ON u.id = n.owner_id ORDER BY 1, 2`);
  const sql = async <T>(text: string) => (await api.dataSource.query(text)) as T[];
  return { rows, notes, pdp: await pdpFacts(permitAdmin(api.permit)), implied: await databaseFacts(sql) };
}

it("writes the demo world through the API, changes nothing the second time, and the users can do what they should", async () => {
  const first = await runSeed(api.dataDir);
  expect(first.code).toBe(0);
  expect(first.out).toContain('+ workspace "Product launch" (owner bob)');
  expect(first.out).toContain("alice@example.com is EDITOR");
  const after = await state();
  expect(after.notes).toHaveLength(6);
  expect(after.rows).toEqual([
    { email: "alice@example.com", name: "Product launch", role: "EDITOR" },
    { email: "bob@example.com", name: "Product launch", role: "OWNER" },
    { email: "carol@example.com", name: "Product launch", role: "VIEWER" },
  ]);
  // The facts went to the PDP through the outbox, as in normal use.
  expect(after.pdp).toEqual(after.implied);

  const second = await runSeed(api.dataDir);
  expect(second.code).toBe(0);
  expect(second.out).toContain("Nothing to do");
  expect(await state()).toEqual(after);

  const alice = await api.token("alice@example.com");
  const carol = await api.token("carol@example.com");
  const bob = await api.token("bob@example.com");
  expect((await api.gql(op(`{ me { roles } }`), {}, carol)).data!.me).toEqual({ roles: ["admin", "user"] });
  const workspaceId = ((await api.gql(op(`{ workspaces { id name } }`), {}, alice)).data!.workspaces as { id: string }[])[0]!.id;
  const listed = async () =>
    ((await api.gql(op(`query($w: ID) { notes(first: 10, workspaceId: $w) { edges { node { id title } } } }`), { w: workspaceId }, alice)).data!.notes as {
      edges: { node: { id: string; title: string } }[];
    }).edges.map((e) => e.node);
  const before = await listed();
  expect(before.map((n) => n.title).sort()).toEqual(["Launch checklist", "Press release draft", "Retrospective"]);
  // carol (admin) deletes one of bob's notes; alice (editor) then no longer sees it.
  const deleted = await api.gql(op(`mutation($id: ID!) { deleteNote(id: $id) }`), { id: before[0]!.id }, carol);
  expect(deleted.errors).toBeUndefined();
  expect((await listed()).map((n) => n.id)).not.toContain(before[0]!.id);
  // alice may not delete bob's notes (an editor may put, not delete): the denial pairs the admin's allow.
  expect(codes(await api.gql(op(`mutation($id: ID!) { deleteNote(id: $id) }`), { id: before[1]!.id }, alice))).toEqual(["FORBIDDEN"]);
  // bob is premium: he may create workspaces; alice may not.
  expect((await api.gql(op(`mutation { createWorkspace(input: { name: "bob's second" }) { id } }`), {}, bob)).errors).toBeUndefined();
  expect(codes(await api.gql(op(`mutation { createWorkspace(input: { name: "alice's" }) { id } }`), {}, alice))).toEqual(["FORBIDDEN"]);
}, 120_000);

it("starts the API itself for the run when none is running on the DATA_DIR", async () => {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), "notes-seed-"));
  try {
    const run = await runSeed(dataDir);
    expect(run.code).toBe(0);
    expect(run.out).toContain("+ carol is admin");
    const again = await runSeed(dataDir);
    expect(again.code).toBe(0);
    expect(again.out).toContain("Nothing to do");
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}, 180_000);
