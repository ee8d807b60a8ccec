/**
 * `npm run permit -- <command>`: grants and inspects what the API never sets itself — tenant
 * roles such as `admin`, and user attributes such as `plan` — in the Permit environment the
 * API uses: PERMIT_* when set, else the running embedded PDP (permit-target.ts).
 *
 * Exit codes: 0 done, 1 failed (user unknown, PDP unreachable, rejected), 2 usage.
 */
import type { Permit, UserRead } from "permitio";
import { loadConfig } from "../config";
import { createLogger } from "../common/logger";
import { describePermitError } from "../permit/client";
import { listAll, orMissing, PAGE_SIZE, succeeded } from "../permit/rest";
import { connectPermit, resolvePermitTarget } from "./permit-target";
import { runHistoryCommand } from "./policy-history";
import { CommandError, consoleIo, runCommandLine, runIfMain, UsageError, type CliCommand, type Io } from "./run";

const USAGE = `Usage: npm run permit -- <command>

  assign     <email|id> <role>          give a tenant role (e.g. admin) to the user
  unassign   <email|id> <role>          take a tenant role away
  set-attr   <email|id> <name> <value>  set a user attribute (e.g. plan premium); the value is
                                        read as JSON when it parses (42, true, ["a"]), else as text
  unset-attr <email|id> <name>          remove a user attribute
  roles      <email|id>                 list the user's roles and attributes
  history    [--json]                   the policy changes permit:apply made, newest first

<email|id> is the user's email address or Hanko user id (the Permit user key).
Roles are tenant roles in PERMIT_TENANT (default "default").`;

const ARITY: Record<string, number> = { assign: 2, unassign: 2, "set-attr": 3, "unset-attr": 2, roles: 1 };

export function parseArgs(argv: string[]): { command: string; args: string[] } {
  const [command, ...args] = argv;
  if (!command || command === "--help" || command === "-h" || command === "help") throw new UsageError("");
  const arity = ARITY[command];
  if (arity === undefined) throw new UsageError(`Unknown command "${command}".`);
  if (args.length !== arity) throw new UsageError(`"${command}" takes ${arity} argument${arity > 1 ? "s" : ""}, got ${args.length}.`);
  if (args.some((a) => a.trim() === "")) throw new UsageError("Arguments must not be empty.");
  return { command, args };
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

export async function runCommand(permit: Pick<Permit, "api">, tenant: string, argv: string[], io: Io): Promise<void> {
  const { command, args } = parseArgs(argv);
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
    // The history is in the database, not in Permit.
    if (argv[0] === "history") return runHistoryCommand(argv.slice(1), io);
    parseArgs(argv);
    const config = loadConfig();
    const permit = connectPermit(config, await resolvePermitTarget(config), createLogger("warn", { name: "permit-admin" }));
    await runCommand(permit, config.permit.tenant, argv, io);
    return 0;
  },
};

export const main = (argv: string[], io: Io = consoleIo): Promise<number> => runCommandLine(command, argv, io);

runIfMain(module, command);
