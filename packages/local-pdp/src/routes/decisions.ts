/**
 * The PDP endpoints the SDK calls (protocol §2-§3): /allowed, /allowed/bulk and
 * /user-permissions, plus the optional /allowed/all-tenants and /user-tenants. Every decision
 * is written to the decision log.
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { CheckInput } from "../attributes";
import { buildBag } from "../attributes";
import type { PdpContext } from "../context";
import { invalid } from "../errors";
import { RequestMemo, type Decision } from "../evaluator";
import { isJsonObject, type JsonObject } from "../model";
import { userPermissions } from "../user-permissions";
import { Fields, type Loc } from "../validate";

type Req = FastifyRequest<{ Body: unknown }>;

/** One check body, accepting both spellings of the user's names and ignoring unknown fields. */
function parseCheck(value: unknown, loc: Loc): CheckInput {
  const f = Fields.of(value, loc);
  const rawUser = f.raw("user");
  // The SDK always sends an object; a bare key is accepted for hand-written calls.
  const u = typeof rawUser === "string" ? Fields.of({ key: rawUser }, [...loc, "user"]) : Fields.of(rawUser, [...loc, "user"]);
  const r = Fields.of(f.raw("resource"), [...loc, "resource"]);
  const rawKey = r.raw("key");
  if (rawKey !== undefined && rawKey !== null && typeof rawKey !== "string" && typeof rawKey !== "number") {
    throw invalid([...loc, "resource", "key"], "must be a string");
  }
  const action = f.str("action");
  if (action === "") throw invalid([...loc, "action"], "must not be empty");
  const type = r.str("type");
  if (type === "") throw invalid([...loc, "resource", "type"], "must not be empty");
  const userKey = u.str("key");
  if (userKey === "") throw invalid([...loc, "user", "key"], "must not be empty");
  return {
    user: {
      key: userKey,
      email: u.optStr("email"),
      first_name: u.optStr("first_name") ?? u.optStr("firstName"),
      last_name: u.optStr("last_name") ?? u.optStr("lastName"),
      attributes: u.optObject("attributes"),
    },
    action,
    resource: {
      type,
      key: rawKey === undefined || rawKey === null || rawKey === "" ? undefined : String(rawKey),
      tenant: r.optStr("tenant") || undefined,
      attributes: r.optObject("attributes"),
    },
    context: f.optObject("context") ?? {},
  };
}

function codes(d: Decision): Record<string, string> {
  const out: Record<string, string> = { rbac: d.rbac.code, abac: d.abac.code };
  if (d.rebac) out.rebac = d.rebac.code;
  return out;
}

/** Debug blocks as Permit shows them: a model's block when it allowed, or when nothing did and it was active. */
function debugOf(ctx: PdpContext, input: CheckInput, d: Decision): JsonObject {
  const bag = buildBag(ctx.store, input);
  const debug: Record<string, unknown> = {
    request: {
      user: { key: input.user.key, synced: ctx.store.users.has(input.user.key), attributes: bag.user },
      tenant: input.resource.tenant !== undefined && ctx.store.tenants.has(input.resource.tenant) ? input.resource.tenant : null,
      action: input.action,
      resource: { type: input.resource.type, ...(input.resource.key !== undefined ? { key: input.resource.key } : {}), attributes: bag.resource },
    },
    allowed_by: d.allowedBy,
  };
  if (d.rbac.allow || !d.allow) debug.rbac = d.rbac;
  if (d.abac.allow || (!d.allow && d.abac.code !== "disabled")) debug.abac = d.abac;
  if (d.rebac && (d.rebac.allow || !d.allow)) debug.rebac = d.rebac;
  return JSON.parse(JSON.stringify(debug)) as JsonObject;
}

function record(ctx: PdpContext, input: CheckInput, d: Decision, endpoint: "allowed" | "bulk", time: string): void {
  ctx.decisions.add({
    time,
    endpoint,
    user: input.user.key,
    action: input.action,
    resource: { type: input.resource.type, key: input.resource.key, tenant: input.resource.tenant },
    allow: d.allow,
    allowed_by: d.allowedBy,
    codes: codes(d),
  });
}

/**
 * The answer of `/allowed/bulk` to a body, over HTTP or in-process (index.ts#inProcessDecisions):
 * one function, so both ways decide and log alike. Everything is parsed first: one bad element
 * rejects the whole bulk before any decision is logged.
 */
export function decideBulk(ctx: PdpContext, body: unknown): { allow: boolean; result: boolean }[] {
  if (!Array.isArray(body)) throw invalid(["body"], "must be an array of checks");
  const inputs = body.map((item: unknown, i: number) => parseCheck(item, ["body", i]));
  const memo = new RequestMemo();
  const time = new Date().toISOString();
  return inputs.map((input) => {
    const d = ctx.evaluator.check(input, memo);
    record(ctx, input, d, "bulk", time);
    return { allow: d.allow, result: d.allow };
  });
}

/** The answer of `/user-permissions` to a body, over HTTP or in-process. */
export function userPermissionsOf(ctx: PdpContext, body: unknown): ReturnType<typeof userPermissions> {
  const f = Fields.of(body);
  const rawUser = f.raw("user");
  const u = typeof rawUser === "string" ? Fields.of({ key: rawUser }, ["body", "user"]) : Fields.of(rawUser, ["body", "user"]);
  return userPermissions(ctx.store, ctx.evaluator, {
    user: { key: u.str("key"), email: u.optStr("email"), attributes: u.optObject("attributes") },
    tenants: f.optStringArray("tenants"),
    resources: f.optStringArray("resources"),
    resource_types: f.optStringArray("resource_types"),
    context: f.optObject("context") ?? {},
  });
}

export function decisionRoutes(ctx: PdpContext) {
  const { store, evaluator } = ctx;

  return async (app: FastifyInstance): Promise<void> => {
    app.post("/allowed", async (req: Req) => {
      const input = parseCheck(req.body, ["body"]);
      const d = evaluator.check(input);
      record(ctx, input, d, "allowed", new Date().toISOString());
      return { allow: d.allow, result: d.allow, debug: debugOf(ctx, input, d) };
    });

    app.post("/allowed/bulk", async (req: Req) => ({ allow: decideBulk(ctx, req.body) }));

    app.post("/user-permissions", async (req: Req) => userPermissionsOf(ctx, req.body));

    /** Tenants where the user has a tenant role. */
    app.post("/user-tenants", async (req: Req) => {
      const f = Fields.of(req.body);
      const u = Fields.of(f.raw("user"), ["body", "user"]);
      const key = u.str("key");
      return [...(store.tenantRoles.get(key)?.keys() ?? [])]
        .filter((t) => store.tenants.has(t))
        .map((t) => ({ key: t, attributes: store.tenants.get(t)?.attributes ?? {} }));
    });

    /**
     * For the SDK's checkAllTenants, which in 2.7.6 posts `{headers, params: {user, action,
     * resource, context}}`; the proper body `{user, action, resource, context}` works too.
     */
    app.post("/allowed/all-tenants", async (req: Req) => {
      const body = isJsonObject(req.body) && isJsonObject(req.body.params) ? req.body.params : req.body;
      const f = Fields.of(body);
      const user = typeof f.raw("user") === "string" ? { key: f.raw("user") } : f.raw("user");
      const rawResource = f.raw("resource");
      const resource =
        typeof rawResource === "string"
          ? rawResource.includes(":")
            ? { type: rawResource.slice(0, rawResource.indexOf(":")), key: rawResource.slice(rawResource.indexOf(":") + 1) }
            : { type: rawResource }
          : rawResource;
      const base = parseCheck({ user, action: f.raw("action"), resource, context: f.raw("context") ?? {} }, ["body"]);
      const candidates = store.users.has(base.user.key) ? [...(store.tenantRoles.get(base.user.key)?.keys() ?? [])] : [...store.tenants.keys()];
      const memo = new RequestMemo();
      const allowed = [];
      for (const tenant of candidates) {
        if (!store.tenants.has(tenant)) continue;
        const input: CheckInput = { ...base, resource: { ...base.resource, tenant } };
        const d = evaluator.check(input, memo);
        if (d.allow) allowed.push({ allow: true, result: true, tenant: { key: tenant, attributes: store.tenants.get(tenant)?.attributes ?? {} } });
      }
      return { allowed_tenants: allowed, allowedTenants: allowed };
    });
  };
}
