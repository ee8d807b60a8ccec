/**
 * `npm run permit -- <command>`: grants and inspects what the API never sets itself — tenant
 * roles such as `admin`, and user attributes such as `plan` — in the Permit environment the
 * API uses: PERMIT_* when set, else the running embedded PDP (permit-target.ts); and looks after
 * the facts on their way there (`outbox`, cli/outbox.ts).
 *
 * Exit codes: 0 done, 1 failed (user unknown, PDP unreachable, rejected), 2 usage.
 */
import type { Permit, UserRead } from "permitio";
import type { DataSource } from "typeorm";
import { loadConfig } from "../config";
import { createLogger } from "../common/logger";
import { describePermitError } from "../permit/client";
import { listAll, orMissing, PAGE_SIZE, succeeded } from "../permit/rest";
import { connectPermit, resolvePermitTarget } from "./permit-target";
import type { AuthzResource } from "../authz/authorizer";
import { explainDecision, explanationLines } from "../authz/explain";
import { Actions, Resource } from "../authz/policy";
import { newNoteResource, newWorkspaceResource, noteResource, workspaceResource } from "../authz/resources";
import { isUuid } from "../common/validation";
import { NoteRepository } from "../notes/note.repository";
import { permitDecisionFacts, type DecisionFacts } from "../permit/decision-facts";
import { WorkspaceRepository } from "../workspaces/workspace.repository";
import { openCliDatabase } from "./database";
import { OUTBOX_COMMANDS, runOutboxCommand } from "./outbox";
import { runHistoryCommand } from "./policy-history";
import { CommandError, consoleIo, runCommandLine, runIfMain, UsageError, type CliCommand, type Io } from "./run";

const USAGE = `Usage: npm run permit -- <command>

  assign     <email|id> <role>          give a tenant role (e.g. admin) to the user
  unassign   <email|id> <role>          take a tenant role away
  set-attr   <email|id> <name> <value>  set a user attribute (e.g. plan premium); the value is
                                        read as JSON when it parses (42, true, ["a"]), else as text
  unset-attr <email|id> <name>          remove a user attribute
  roles      <email|id>                 list the user's roles and attributes
  explain    <email|id> <action> <notes|workspaces>[:<id>] [--json]
                                        why the PDP allows or denies the user the action on
                                        that note or workspace (without an id: a type-level
                                        check, e.g. "post workspaces"); the attributes come
                                        from the stored row (DATABASE_URL, else the running
                                        embedded database); --json prints the structured result
  history    [--json]                   the policy changes permit:apply made, newest first
  outbox list [--json]                  the facts Permit has not acknowledged yet, oldest first;
                                        a stuck one (refused too often, holding back the facts
                                        of its objects) with what Permit answered
  outbox retry <id>                     try a stuck fact again (once the cause is fixed)
  outbox skip <id>                      drop a stuck fact: its objects are repaired in Permit from
                                        the database (the reconcile, for them only), then it goes

<email|id> is the user's email address or Hanko user id (the Permit user key). The outbox
commands read DATABASE_URL, else the running embedded database.
Roles are tenant roles in PERMIT_TENANT (default "default").`;

const ARITY: Record<string, number> = { assign: 2, unassign: 2, "set-attr": 3, "unset-attr": 2, roles: 1, explain: 3, history: 0 };
/** Flags a command accepts besides its arguments. */
const FLAGS: Record<string, readonly string[]> = { explain: ["--json"], history: ["--json"], outbox: ["--json"] };

export function parseArgs(argv: string[]): { command: string; args: string[]; flags: Set<string> } {
  const [command, ...rest] = argv;
  if (!command || command === "--help" || command === "-h" || command === "help") throw new UsageError("");
  const accepted = FLAGS[command] ?? [];
  const flags = new Set(rest.filter((a) => accepted.includes(a)));
  const args = rest.filter((a) => !accepted.includes(a));
  // `outbox` takes a subcommand, which has the arity.
  const name = command === "outbox" ? `outbox ${args[0] ?? ""}`.trim() : command;
  const arity = command === "outbox" ? (args[0] === undefined ? undefined : OUTBOX_COMMANDS[args[0]]) : ARITY[command];
  if (arity === undefined) throw new UsageError(command === "outbox" ? `Unknown command "${name}": use outbox list, outbox retry <id> or outbox skip <id>.` : `Unknown command "${command}".`);
  const unknownFlag = args.find((a) => a.startsWith("--"));
  if (unknownFlag) throw new UsageError(`Unknown option "${unknownFlag}" for "${command}".`);
  const given = command === "outbox" ? args.length - 1 : args.length;
  if (given !== arity) throw new UsageError(`"${name}" takes ${arity} argument${arity === 1 ? "" : "s"}, got ${given}.`);
  if (args.some((a) => a.trim() === "")) throw new UsageError("Arguments must not be empty.");
  return { command, args, flags };
}

/** `notes:<id>` → {type, key}; `workspaces` → {type}. The action must be one the policy defines on that type. */
export function parseExplainTarget(action: string, target: string): { type: Resource; key?: string } {
  const at = target.indexOf(":");
  const type = at < 0 ? target : target.slice(0, at);
  const key = at < 0 ? undefined : target.slice(at + 1);
  if (!(type in Actions)) throw new UsageError(`Unknown resource type "${type}": use ${Object.keys(Actions).join(" or ")}.`);
  if (!(Actions[type as Resource] as readonly string[]).includes(action)) {
    throw new UsageError(`Unknown action "${action}" on ${type}: use one of ${Actions[type as Resource].join(", ")}.`);
  }
  if (key !== undefined && !isUuid(key)) throw new UsageError(`"${key}" is not a ${type === Resource.notes ? "note" : "workspace"} id.`);
  return key === undefined ? { type: type as Resource } : { type: type as Resource, key: key.toLowerCase() };
}

/** The stored row of a resource as the API sends it to the PDP (authz/resources.ts); undefined when there is no such row. */
export type StoredResources = (type: Resource, key: string) => Promise<AuthzResource | undefined>;

export interface ExplainDeps {
  facts: DecisionFacts;
  /** Needed for an instance (`notes:<id>`): the database the API uses. */
  stored?: StoredResources;
  /** Where the PDP is, for the output. */
  description: string;
}

/** `42` → 42, `true` → true, `["a"]` → ["a"], `"x"` → "x", anything that is not JSON → the text itself. */
export function parseAttributeValue(raw: string): unknown {
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return raw;
  }
}

/**
 * Finds the Permit user for an email (case-insensitive, exact) or a user id. The API's
 * `search` narrows the list where the server supports it; the exact match is made here, and
 * without a hit every page is scanned, since search semantics differ between servers.
 */
async function resolveUser(api: Permit["api"], who: string): Promise<UserRead | undefined> {
  if (!who.includes("@")) return orMissing(() => api.users.get(who));
  const email = who.toLowerCase();
  const match = (users: UserRead[]) => {
    const hits = users.filter((u) => u.email?.toLowerCase() === email);
    const ids = [...new Set(hits.map((u) => u.key))];
    if (ids.length > 1) throw new CommandError(`Several Permit users have the email ${who}: ${ids.join(", ")}. Pass the id instead.`);
    return hits[0];
  };
  const searched = await api.users.list({ search: who, page: 1, perPage: PAGE_SIZE });
  const found = match(searched.data ?? []);
  if (found) return found;
  return match(await listAll(async (page, perPage) => (await api.users.list({ page, perPage })).data ?? []));
}

const describeUser = (u: UserRead) => (u.email ? `${u.key} (${u.email})` : u.key);

export async function runCommand(permit: Pick<Permit, "api">, tenant: string, argv: string[], io: Io, explain?: ExplainDeps): Promise<void> {
  const { command, args, flags } = parseArgs(argv);
  const api = permit.api;
  const [who] = args;

  if (command === "assign" || command === "unassign") {
    const role = args[1];
    if (!(await orMissing(() => api.roles.get(role)))) throw new CommandError(`There is no tenant role "${role}" in this environment.`);
  }
  let user = await resolveUser(api, who);
  if (!user) {
    if (command === "assign" && !who.includes("@")) {
      // An id that has not signed in yet: the role can be granted ahead of the first request
      // (which then only adds `user`, never replaces what is here).
      user = await api.users.create({ key: who });
      io.out(`created Permit user ${who} (not seen by the API yet)`);
    } else {
      throw new CommandError(
        who.includes("@")
          ? `No Permit user has the email ${who}. Users appear on their first API request; or pass their Hanko id.`
          : `No Permit user has the id ${who}.`,
      );
    }
  }
  const userId = user.key;

  switch (command) {
    case "explain": {
      if (!explain) throw new CommandError("explain needs the PDP and the database.");
      const [, action, target] = args;
      const { type, key } = parseExplainTarget(action!, target!);
      let resource: AuthzResource;
      if (key === undefined) resource = type === Resource.notes ? newNoteResource(userId) : newWorkspaceResource();
      else {
        if (!explain.stored) throw new CommandError("explain on an instance needs the database.");
        const stored = await explain.stored(type, key);
        if (!stored) throw new CommandError(`There is no ${type === Resource.notes ? "note" : "workspace"} ${key} in the database.`);
        resource = stored;
      }
      const explanation = await explainDecision({ userId, action: action!, resource }, { facts: explain.facts });
      if (flags.has("--json")) io.out(JSON.stringify(explanation, null, 2));
      else for (const line of explanationLines(explanation, explain.description)) io.out(line);
      return;
    }
    case "assign": {
      const role = args[1];
      const assigned = await succeeded([409], () => api.roleAssignments.assign({ user: userId, role, tenant }));
      io.out(
        assigned
          ? `assigned role "${role}" to ${describeUser(user)} in tenant "${tenant}"`
          : `${describeUser(user)} already has role "${role}" in tenant "${tenant}"`,
      );
      return;
    }
    case "unassign": {
      const role = args[1];
      const unassigned = await succeeded([404], () => api.roleAssignments.unassign({ user: userId, role, tenant }));
      io.out(
        unassigned
          ? `unassigned role "${role}" from ${describeUser(user)} in tenant "${tenant}"`
          : `${describeUser(user)} did not have role "${role}" in tenant "${tenant}"`,
      );
      return;
    }
    case "set-attr": {
      const [, name, raw] = args;
      const value = parseAttributeValue(raw);
      // The whole bag is sent: PATCH replaces `attributes` as one field.
      const attributes = { ...((user.attributes ?? {}) as Record<string, unknown>), [name]: value };
      await api.users.update(userId, { attributes });
      io.out(`set ${name}=${JSON.stringify(value)} on ${describeUser(user)}`);
      return;
    }
    case "unset-attr": {
      const name = args[1];
      const attributes = { ...((user.attributes ?? {}) as Record<string, unknown>) };
      if (!(name in attributes)) {
        io.out(`${describeUser(user)} has no attribute "${name}"`);
        return;
      }
      delete attributes[name];
      await api.users.update(userId, { attributes });
      io.out(`removed attribute "${name}" from ${describeUser(user)}`);
      return;
    }
    case "roles": {
      const assignments = await listAll((page, perPage) => api.roleAssignments.list({ user: userId, page, perPage }));
      io.out(`user ${describeUser(user)}`);
      const tenantRoles = assignments.filter((a) => !a.resource_instance);
      const instanceRoles = assignments.filter((a) => a.resource_instance);
      io.out(`  tenant roles: ${tenantRoles.length ? tenantRoles.map((a) => `${a.role} (tenant ${a.tenant ?? "?"})`).join(", ") : "none"}`);
      for (const a of instanceRoles) io.out(`  ${a.role} on ${a.resource_instance}`);
      io.out(`  attributes: ${JSON.stringify(user.attributes ?? {})}`);
      return;
    }
  }
}

/** Rows read through the API's own repositories, turned into resources by the API's own builders. */
export function storedResources(ds: DataSource): StoredResources {
  return async (type, key) => {
    if (type === Resource.notes) {
      const [note] = await new NoteRepository(ds).findByIds([key]);
      return note ? noteResource(note) : undefined;
    }
    const [workspace] = await new WorkspaceRepository(ds).findByIds([key]);
    return workspace ? workspaceResource(workspace) : undefined;
  };
}

/** Permit's failures, told as "not reachable" or "rejected" (never with the key). */
function describeFailure(err: unknown): string {
  const f = describePermitError(err);
  const unreachable = f.kind === "context" || (f.kind === "api" && f.status === undefined);
  return unreachable
    ? `Permit could not be reached or refused the API key (${f.message}). Is the API (\`npm start\`) or your PDP running?`
    : `Permit rejected the request: ${f.message}${f.status ? ` (HTTP ${f.status})` : ""}`;
}

const command: CliCommand = {
  usage: USAGE,
  describeFailure,
  async run(argv, io) {
    const { command: name, args, flags } = parseArgs(argv);
    // The history is in the database, not in Permit.
    if (name === "history") return runHistoryCommand(flags, io);
    const config = loadConfig();
    if (name === "outbox") {
      const ds = await openCliDatabase(config, "The outbox is in the database");
      try {
        // Only `skip` writes to Permit.
        const permit = args[0] === "skip" ? connectPermit(config, await resolvePermitTarget(config), createLogger("warn", { name: "permit-admin" })) : undefined;
        await runOutboxCommand({ ds, permit, tenant: config.permit.tenant }, args, flags, io);
        return 0;
      } finally {
        await ds.destroy();
      }
    }
    const target = await resolvePermitTarget(config);
    const permit = connectPermit(config, target, createLogger("warn", { name: "permit-admin" }));
    if (name !== "explain") {
      await runCommand(permit, config.permit.tenant, argv, io);
      return 0;
    }
    const facts = permitDecisionFacts(permit, config.permit.tenant);
    if (parseExplainTarget(args[1]!, args[2]!).key === undefined) {
      await runCommand(permit, config.permit.tenant, argv, io, { facts, description: target.description });
      return 0;
    }
    const ds = await openCliDatabase(config, "explain reads the stored row");
    try {
      await runCommand(permit, config.permit.tenant, argv, io, { facts, stored: storedResources(ds), description: target.description });
      return 0;
    } finally {
      await ds.destroy();
    }
  },
};

export const main = (argv: string[], io: Io = consoleIo): Promise<number> => runCommandLine(command, argv, io);

runIfMain(module, command);
