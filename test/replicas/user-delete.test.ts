/**
 * A user deleted in Hanko, across two real replicas: the webhook reaches A, and the user's old
 * (unexpired) session token is refused on B from the moment A has answered the webhook.
 */
import { databaseFacts, pdpFacts } from "../support/pdp-state";
import { startReplicas, type GqlResult, type ReplicaSet } from "../support/replicas";

jest.setTimeout(90_000);

let set: ReplicaSet;
beforeAll(async () => {
  set = await startReplicas();
}, 120_000);
afterAll(() => set?.stop());

const ME = `{ me { id roles } }`;
const CREATE_NOTE = `mutation($title: String!) { createNote(input: { title: $title }) { id } }`;
const ok = (res: GqlResult) => {
  expect(res.errors).toBeUndefined();
  return res.data!;
};

it("refuses the deleted user's old token on both replicas once the webhook is answered", async () => {
  const hana = await set.token("hana@example.com");
  const ivan = await set.token("ivan@example.com");
  // Seen, and remembered, by both replicas.
  for (const r of [set.a, set.b]) {
    ok(await r.gql(ME, {}, hana));
    ok(await r.gql(ME, {}, ivan));
  }
  ok(await set.b.gql(CREATE_NOTE, { title: "hana's" }, hana));

  const hook = await set.webhookToken("user.delete", "hana@example.com");
  const started = process.hrtime.bigint();
  const res = await fetch(`${set.a.url}/webhooks/hanko`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ token: hook, event: "user.delete" }),
  });
  expect(res.status).toBe(200);
  const onB = await set.b.gql(ME, {}, hana);
  const effectMs = Number(process.hrtime.bigint() - started) / 1e6;
  expect(onB.status).toBe(401);
  expect(onB.errors?.[0]?.extensions).toMatchObject({ code: "UNAUTHENTICATED", reason: "user_deleted" });
  expect((await set.a.gql(CREATE_NOTE, { title: "again" }, hana)).status).toBe(401);
  // The pair: another user's token still works on both.
  for (const r of [set.a, set.b]) expect(ok(await r.gql(ME, {}, ivan)).me).toMatchObject({ roles: ["user"] });

  await set.settle();
  const pdpMs = Number(process.hrtime.bigint() - started) / 1e6;
  expect(await pdpFacts(set.permit)).toEqual(await databaseFacts(set.sql));
  await expect(set.permit.api.users.get(set.userIdFor("hana@example.com"))).rejects.toMatchObject({ response: { status: 404 } });
  // Reported by the test run: webhook POST on A → old token refused on B.
  console.warn(`user.delete: old token refused on the other replica ${effectMs.toFixed(1)} ms after the POST; PDP settled after ${pdpMs.toFixed(0)} ms`);
});
