/**
 * The local PDP's decision function alone (in-process, no HTTP): the same checks on a
 * 100-tuple and a 100,000-tuple state, measured in alternating rounds so machine noise hits
 * both sides alike. Every loop stops at its iteration count or its time budget.
 *
 * The state is a synthetic schema written straight into the store: the package knows no
 * application's policy. The same measurements over HTTP, through the SDK and with the notes
 * API's own policy, are in bench/localpdp-http.bench.ts at the repository root.
 *
 *   npx tsx packages/local-pdp/bench/localpdp.bench.ts      (or: npm run bench -- localpdp)
 */
import type { CheckInput } from "../src/attributes";
import { Database } from "../src/database";
import { Evaluator, RequestMemo } from "../src/evaluator";

const BIG = 100_000;
const SMALL = 100;
const NOTES_PER_WORKSPACE = 100;
const quiet = { info: () => {}, warn: () => {}, error: () => {} };

/** A memory-only state with a small synthetic schema and `tuples` workspace → note tuples. */
async function stateWith(tuples: number): Promise<Database> {
  const db = await Database.open(undefined, quiet);
  await db.execute({ t: "resource.create", key: "workspaces", body: { actions: { get: {}, delete: {} } } });
  await db.execute({
    t: "resource.create",
    key: "notes",
    body: { actions: { get: {}, put: {}, delete: {} }, attributes: { owner: { type: "string" } }, relations: { parent: "workspaces" } },
  });
  await db.execute({ t: "rrole.create", resource: "workspaces", role: { key: "owner", permissions: ["get", "delete"] } });
  await db.execute({
    t: "rrole.create",
    resource: "notes",
    role: { key: "manager", permissions: ["get", "put", "delete"], granted_to: { users_with_role: [{ role: "owner", on_resource: "workspaces", linked_by_relation: "parent" }] } },
  });
  await db.execute({ t: "role.create", role: { key: "user", permissions: ["notes:get"] } });
  await db.execute({ t: "cset.create", set: { key: "own", type: "resourceset", resource_id: "notes", conditions: { "resource.owner": { equals: { ref: "user.key" } } } } });
  await db.execute({ t: "setrule.create", rule: { user_set: "__autogen_user", permission: "notes:put", resource_set: "own" } });
  for (const key of ["alice", "bob"]) {
    await db.execute({ t: "user.create", user: { key } });
    await db.execute({ t: "assignment.create", assignment: { user: key, role: "user", tenant: "default" } });
  }
  await db.execute({ t: "assignment.create", assignment: { user: "alice", role: "owner", resource_instance: "workspaces:w0", tenant: "default" } });
  for (let i = 0; i < tuples; i += 5000) {
    const batch = Array.from({ length: Math.min(5000, tuples - i) }, (_, j) => ({
      subject: `workspaces:w${Math.floor((i + j) / NOTES_PER_WORKSPACE)}`,
      relation: "parent",
      object: `notes:n${i + j}`,
      tenant: "default",
    }));
    await db.execute({ t: "tuple.bulkCreate", tuples: batch });
  }
  return db;
}

/** ns per check of the decision function on each state, median over alternating rounds. */
async function evaluatorRounds(rounds: number, perRound: number, budgetMs: number): Promise<{ small: number; big: number; rounds: number }> {
  const small = await stateWith(SMALL);
  const big = await stateWith(BIG);
  const inputs: CheckInput[] = [
    { user: { key: "alice" }, action: "delete", resource: { type: "notes", key: "n7", tenant: "default" }, context: {} },
    { user: { key: "bob" }, action: "delete", resource: { type: "notes", key: "n7", tenant: "default" }, context: {} },
    { user: { key: "bob" }, action: "get", resource: { type: "notes", key: "n42", tenant: "default" }, context: {} },
    { user: { key: "bob" }, action: "put", resource: { type: "notes", key: "n9", tenant: "default", attributes: { owner: "bob" } }, context: {} },
  ];
  const run = (evaluator: Evaluator): number => {
    const t0 = performance.now();
    for (let i = 0; i < perRound; i++) evaluator.check(inputs[i % inputs.length], new RequestMemo());
    return ((performance.now() - t0) * 1e6) / perRound;
  };
  const es = new Evaluator(small.store);
  const eb = new Evaluator(big.store);
  run(es);
  run(eb);
  const smallNs: number[] = [];
  const bigNs: number[] = [];
  const start = performance.now();
  for (let r = 0; r < rounds && performance.now() - start < budgetMs; r++) {
    smallNs.push(run(es));
    bigNs.push(run(eb));
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  await small.close();
  await big.close();
  return { small: median(smallNs), big: median(bigNs), rounds: smallNs.length };
}

async function main(): Promise<void> {
  const ev = await evaluatorRounds(15, 20_000, 6000);
  console.log(`\ndecision function alone (in-process, ${ev.rounds} alternating rounds of 20,000 checks, median)`);
  console.log(`  100 tuples: ${ev.small.toFixed(0)} ns/check   100,000 tuples: ${ev.big.toFixed(0)} ns/check   ratio 100k / 100: ${(ev.big / ev.small).toFixed(2)}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
