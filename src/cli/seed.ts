/**
 * `npm run seed`: demo data for the explorer and for trying the API, written through the real
 * API (GraphQL over HTTP, so the facts reach the PDP as in normal use) by users signed in with
 * the dev issuer:
 *
 * - alice@example.com — role `user`, a few personal notes;
 * - bob@example.com — premium (a Permit user attribute), owns the workspace "Product launch",
 *   shared with alice as EDITOR and with carol as VIEWER, with notes in it;
 * - carol@example.com — role `admin` (granted in Permit).
 *
 * It talks to the `npm start` running on the same DATA_DIR (found through
 * `DATA_DIR/api-local.json`), or starts the API itself for the run. It is idempotent: what
 * exists already is left alone, so a second run changes nothing.
 */
import "reflect-metadata";
import { readFile } from "node:fs/promises";
import { startApi } from "../app";
import { createLogger } from "../common/logger";
import { loadConfig, usesEmbedded, type Config } from "../config";
import { localApiFile } from "../dev/embedded";
import { DevHankoIssuer } from "../dev/hanko-issuer";
import { listAll, tolerating } from "../permit/rest";
import { connectPermit, resolvePermitTarget } from "./permit-target";
import { CommandError, runIfMain, type CliCommand, type Io } from "./run";

const USAGE = "usage: npm run seed\n  writes the demo users, workspace and notes through the API of this DATA_DIR (idempotent)";

export const DEMO_USERS = {
  alice: "alice@example.com",
  bob: "bob@example.com",
  carol: "carol@example.com",
} as const;

const WORKSPACE = "Product launch";
const ALICE_NOTES = [
  { title: "Groceries", body: "oat milk, lemons, coffee beans" },
  { title: "Reading list", body: "Designing Data-Intensive Applications; The Pragmatic Programmer" },
  { title: "Ideas", body: "a notes app whose permissions you can explain" },
];
const WORKSPACE_NOTES = [
  { title: "Launch checklist", body: "1. docs 2. pricing page 3. announcement" },
  { title: "Press release draft", body: "Today we launch…" },
  { title: "Retrospective", body: "What went well, what did not" },
];

type Gql = (query: string, variables?: Record<string, unknown>) => Promise<Record<string, unknown>>;

const command: CliCommand = {
  usage: USAGE,
  prefix: "seed: ",
  async run(argv, io) {
    if (argv.length > 0) {
      io.out(USAGE);
      return argv[0] === "-h" || argv[0] === "--help" ? 0 : 2;
    }
    const config = loadConfig();
    if (config.nodeEnv === "production") throw new CommandError("refused when NODE_ENV=production (demo data is for development only)");
    if (!usesEmbedded.hanko(config)) throw new CommandError("HANKO_API_URL is set: demo users sign in with the dev issuer, which is then off");
    const running = await runningApi(config);
    const started = running ? undefined : await startApi({ ...config, port: 0 }, createLogger("warn", { name: "seed" }));
    try {
      await seed(config, running ?? started!.url, io);
    } finally {
      await started?.stop();
    }
    return 0;
  },
};

/** The URL of the API running on this DATA_DIR, if it answers. */
async function runningApi(config: Config): Promise<string | undefined> {
  try {
    const { url } = JSON.parse(await readFile(localApiFile(config.dataDir), "utf8")) as { url: string };
    const health = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2000) });
    return health.ok ? url : undefined;
  } catch {
    return undefined;
  }
}

export async function seed(config: Config, apiUrl: string, io: Io): Promise<void> {
  const issuer = await DevHankoIssuer.load({ dataDir: config.dataDir, audience: config.hanko.audience, issuer: config.hanko.issuer });
  const as = async (email: string): Promise<Gql> => {
    const token = await issuer.issueSessionToken({ email });
    return async (query, variables = {}) => {
      const res = await fetch(`${apiUrl}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: JSON.stringify({ query, variables }),
      });
      const body = (await res.json()) as { data?: Record<string, unknown>; errors?: { message: string; extensions?: { code?: string } }[] };
      if (body.errors?.length) throw new CommandError(`${email}: ${body.errors.map((e) => `${e.extensions?.code}: ${e.message}`).join("; ")}`);
      return body.data!;
    };
  };
  const done: string[] = [];
  const kept: string[] = [];
  const note = (created: boolean, what: string) => (created ? done : kept).push(what);

  // First sight: each user is recorded and synced to Permit with the role `user`.
  const [alice, bob, carol] = await Promise.all([as(DEMO_USERS.alice), as(DEMO_USERS.bob), as(DEMO_USERS.carol)]);
  const ids: Record<string, string> = {};
  for (const [name, gql] of [["alice", alice], ["bob", bob], ["carol", carol]] as const) ids[name] = ((await gql(`{ me { id } }`)).me as { id: string }).id;

  // Roles and attributes live in Permit, not in the API: set them there, as an operator would.
  const permit = connectPermit(config, await resolvePermitTarget(config), createLogger("warn", { name: "seed" }));
  const bobUser = await permit.api.users.get(ids.bob!);
  const attributes = (bobUser.attributes ?? {}) as Record<string, unknown>;
  note(attributes.plan !== "premium", "bob is premium");
  if (attributes.plan !== "premium") await permit.api.users.update(ids.bob!, { attributes: { ...attributes, plan: "premium" } });
  const carolRoles = await listAll((page, perPage) => permit.api.roleAssignments.list({ user: ids.carol!, tenant: config.permit.tenant, page, perPage }));
  const carolIsAdmin = carolRoles.some((r) => r.role === "admin" && !r.resource_instance);
  note(!carolIsAdmin, "carol is admin");
  if (!carolIsAdmin) await tolerating([409], () => permit.api.roleAssignments.assign({ user: ids.carol!, role: "admin", tenant: config.permit.tenant }));

  // bob's workspace, shared with alice (EDITOR) and carol (VIEWER).
  const workspaces = (await bob(`{ workspaces { id name viewerRole members { role user { email } } } }`)).workspaces as {
    id: string;
    name: string;
    viewerRole: string | null;
    members: { role: string; user: { email: string | null } }[];
  }[];
  let workspace = workspaces.find((w) => w.name === WORKSPACE && w.viewerRole === "OWNER");
  note(!workspace, `workspace "${WORKSPACE}" (owner bob)`);
  if (!workspace) {
    const created = (await bob(`mutation($name: String!) { createWorkspace(input: { name: $name }) { id name } }`, { name: WORKSPACE })).createWorkspace as { id: string; name: string };
    workspace = { ...created, viewerRole: "OWNER", members: [] };
  }
  for (const [email, role] of [[DEMO_USERS.alice, "EDITOR"], [DEMO_USERS.carol, "VIEWER"]] as const) {
    const has = workspace.members.some((m) => m.user.email === email && m.role === role);
    note(!has, `${email} is ${role} of "${WORKSPACE}"`);
    if (!has) await bob(`mutation($w: ID!, $e: String!, $r: WorkspaceRole!) { shareWorkspace(workspaceId: $w, email: $e, role: $r) { role } }`, { w: workspace.id, e: email, r: role });
  }

  // Notes: alice's personal ones, bob's in the workspace.
  const titles = async (gql: Gql, owner: string, workspaceId: string | null) => {
    const data = await gql(`query($w: ID) { notes(first: 100, workspaceId: $w) { edges { node { title owner { id } workspace { id } } } } }`, { w: workspaceId });
    const edges = (data.notes as { edges: { node: { title: string; owner: { id: string }; workspace: { id: string } | null } }[] }).edges;
    return new Set(edges.filter((e) => e.node.owner.id === owner && (e.node.workspace?.id ?? null) === workspaceId).map((e) => e.node.title));
  };
  const create = `mutation($t: String!, $b: String, $w: ID) { createNote(input: { title: $t, body: $b, workspaceId: $w }) { id } }`;
  const alicesTitles = await titles(alice, ids.alice!, null);
  for (const n of ALICE_NOTES) {
    note(!alicesTitles.has(n.title), `alice's note "${n.title}"`);
    if (!alicesTitles.has(n.title)) await alice(create, { t: n.title, b: n.body, w: null });
  }
  const workspaceTitles = await titles(bob, ids.bob!, workspace.id);
  for (const n of WORKSPACE_NOTES) {
    note(!workspaceTitles.has(n.title), `bob's note "${n.title}" in "${WORKSPACE}"`);
    if (!workspaceTitles.has(n.title)) await bob(create, { t: n.title, b: n.body, w: workspace.id });
  }

  io.out(done.length > 0 ? `Created:\n${done.map((d) => `  + ${d}`).join("\n")}` : "Nothing to do: the demo data is already there.");
  if (kept.length > 0 && done.length > 0) io.out(`Already there:\n${kept.map((d) => `  = ${d}`).join("\n")}`);
  io.out(
    [
      "",
      "Sign in as one of them:",
      `  explorer: ${apiUrl}/explorer — the dev sign-in offers alice, bob and carol with one click`,
      `  curl:     TOKEN=$(npm run -s token -- ${DEMO_USERS.alice})`,
      "  alice (user: her notes, editor of bob's workspace) · bob (premium: owns the workspace) · carol (admin: every action; viewer of the workspace)",
    ].join("\n"),
  );
}

runIfMain(module, command);
