/**
 * The decision function (protocol §6): allow = RBAC OR ABAC OR ReBAC, with no deny rules.
 * Every model is evaluated so the debug output and the decision log can say which models
 * allowed; each uses indexes only, so a check costs the same whatever the number of facts.
 */
import { buildBag, storedInstanceAttributes, tenantRolesOf, userBag, type CheckInput } from "./attributes";
import { evaluate, type Bag, type EvalEnv } from "./conditions";
import { AUTOGEN, instanceId, type JsonObject } from "./model";
import { graphRoles, type GraphMemo } from "./rebac";
import { SchemaCache, SchemaIndex } from "./schema-index";
import type { Store } from "./store";

export type Model = "rbac" | "abac" | "rebac";

export interface ModelResult {
  allow: boolean;
  code: string;
  reason: string;
  allowing_roles?: string[];
  allowing_rules?: { user_set: string; resource_set: string }[];
  support_link?: string;
}

export interface Decision {
  allow: boolean;
  allowedBy: Model[];
  rbac: ModelResult;
  abac: ModelResult;
  /** Undefined for a type-level check (no resource key). */
  rebac?: ModelResult;
}

/** Shared across the checks of one request (a bulk): memoized graph roles and set matches. */
export class RequestMemo {
  readonly graph: GraphMemo = new Map();
  /** The user's attribute bag, by tenant and user as sent: a bulk's checks are mostly one user's. */
  readonly userBags = new Map<string, JsonObject>();
}

function result(allow: boolean, code: string, reason: string, extra: Partial<ModelResult> = {}): ModelResult {
  return { allow, code, reason, ...(allow ? {} : { support_link: `https://docs.permit.io/errors/${code}` }), ...extra };
}

export class Evaluator {
  private readonly schemaCache: SchemaCache;

  constructor(private readonly store: Store) {
    this.schemaCache = new SchemaCache(store);
  }

  schema(): SchemaIndex {
    return this.schemaCache.get();
  }

  check(input: CheckInput, memo: RequestMemo = new RequestMemo()): Decision {
    const schema = this.schema();
    const rbac = this.rbac(schema, input);
    const abac = this.abac(schema, input, memo);
    const rebac = input.resource.key === undefined ? undefined : this.rebac(schema, input, memo);
    const allowedBy: Model[] = [];
    if (rbac.allow) allowedBy.push("rbac");
    if (abac.allow) allowedBy.push("abac");
    if (rebac?.allow) allowedBy.push("rebac");
    return { allow: allowedBy.length > 0, allowedBy, rbac, abac, rebac };
  }

  /** Common preconditions of RBAC and ReBAC, in Permit's order; undefined when they hold. */
  private precheck(input: CheckInput): ModelResult | undefined {
    const { type, tenant } = input.resource;
    const resource = this.store.resources.get(type);
    if (!resource) return result(false, "no_such_resource", `resource type '${type}' does not exist`);
    if (!resource.actions[input.action]) return result(false, "no_such_action", `action '${input.action}' does not exist on '${type}'`);
    if (tenant === undefined || !this.store.tenants.has(tenant)) return result(false, "no_such_tenant", `tenant '${tenant ?? ""}' does not exist`);
    if (!this.store.users.has(input.user.key)) return result(false, "user_not_synced", `user '${input.user.key}' is not synced`);
    return undefined;
  }

  rbac(schema: SchemaIndex, input: CheckInput): ModelResult {
    const failed = this.precheck(input);
    if (failed) return failed;
    const { type, tenant } = input.resource;
    const user = input.user.key;
    const roles = tenantRolesOf(this.store, user, tenant);
    if (roles.length === 0) {
      return this.store.tenantRoles.get(user)
        ? result(false, "no_role_in_tenant", `user '${user}' has no role in tenant '${tenant}'`)
        : result(false, "no_user_roles", `user '${user}' has no roles`);
    }
    const allowing = roles.filter((r) => schema.tenantGrants.get(r)?.get(type)?.has(input.action));
    if (allowing.length === 0) {
      return result(false, "no_permission", `no role of user '${user}' in tenant '${tenant}' grants '${input.action}' on '${type}'`);
    }
    return result(
      true,
      "allow",
      `user '${user}' has the role '${allowing[0]}' in tenant '${tenant}', role '${allowing[0]}' has the '${input.action}' permission on resources of type '${type}'`,
      { allowing_roles: allowing },
    );
  }

  rebac(schema: SchemaIndex, input: CheckInput, memo: RequestMemo): ModelResult {
    const failed = this.precheck(input);
    if (failed) return failed;
    const { type, key, tenant } = input.resource;
    const id = instanceId(type, key as string);
    const instance = this.store.instances.get(id);
    if (!instance) return result(false, "no_graph_roles", `resource instance '${id}' has no relationships or roles`);
    if (instance.tenant !== tenant) {
      return result(false, "tenant_mismatch", `resource instance '${id}' belongs to tenant '${instance.tenant}', not '${tenant}'`);
    }
    const roles = graphRoles(this.store, schema, input.user.key, id, memo.graph);
    if (roles.size === 0) return result(false, "no_graph_roles", `user '${input.user.key}' has no role on '${id}'`);
    const grants = schema.resourceGrants.get(type);
    const allowing = [...roles].filter((r) => grants?.get(r)?.has(input.action)).sort();
    if (allowing.length === 0) {
      return result(false, "no_permission", `no role of user '${input.user.key}' on '${id}' grants '${input.action}'`, {
        allowing_roles: [],
      });
    }
    return result(true, "allow", `user '${input.user.key}' has the role '${allowing[0]}' on '${id}', which grants '${input.action}'`, {
      allowing_roles: allowing,
    });
  }

  abac(schema: SchemaIndex, input: CheckInput, memo: RequestMemo = new RequestMemo()): ModelResult {
    if (!schema.hasRules) return result(false, "disabled", "no condition set rules exist");
    const { type } = input.resource;
    const candidates = schema.rules.get(type)?.get(input.action);
    if (!candidates || candidates.length === 0) {
      return result(false, "no_matching_rules", `no condition set rule grants '${input.action}' on '${type}'`);
    }
    const userKey = `${input.resource.tenant ?? ""}\u0000${JSON.stringify(input.user)}`;
    let user = memo.userBags.get(userKey);
    if (!user) memo.userBags.set(userKey, (user = userBag(this.store, input)));
    const bag = buildBag(this.store, input, user);
    const env: EvalEnv = {
      bag,
      instanceAttributes: (fkType, fkKey) => storedInstanceAttributes(this.store, fkType, fkKey, input.resource.tenant),
    };
    const userSets = new Map<string, boolean>();
    const resourceSets = new Map<string, boolean>();
    const allowing: { user_set: string; resource_set: string }[] = [];
    for (const { userSet, resourceSet } of candidates) {
      let u = userSets.get(userSet);
      if (u === undefined) userSets.set(userSet, (u = this.matchUserSet(schema, userSet, bag, env)));
      let r = resourceSets.get(resourceSet);
      if (r === undefined) resourceSets.set(resourceSet, (r = this.matchResourceSet(schema, resourceSet, type, env)));
      if (u && r) allowing.push({ user_set: userSet, resource_set: resourceSet });
    }
    if (allowing.length > 0) {
      return result(true, "allow", `user set '${allowing[0].user_set}' may '${input.action}' resource set '${allowing[0].resource_set}'`, {
        allowing_rules: allowing,
      });
    }
    if (![...userSets.values()].some(Boolean)) return result(false, "no_matching_usersets", "the user matches no user set of the rules");
    if (![...resourceSets.values()].some(Boolean)) {
      return result(false, "no_matching_resourcesets", "the resource matches no resource set of the rules");
    }
    return result(false, "no_matching_rules", "no rule joins a matching user set with a matching resource set");
  }

  private matchUserSet(schema: SchemaIndex, key: string, bag: Bag, env: EvalEnv): boolean {
    if (key.startsWith(AUTOGEN)) {
      const roles = bag.user.roles;
      return Array.isArray(roles) && roles.includes(key.slice(AUTOGEN.length));
    }
    return this.matchSet(schema, key, env);
  }

  private matchResourceSet(schema: SchemaIndex, key: string, type: string, env: EvalEnv): boolean {
    if (key.startsWith(AUTOGEN)) return type === key.slice(AUTOGEN.length);
    const set = schema.sets.get(key);
    return set !== undefined && set.def.resource_id === type && this.matchSet(schema, key, env);
  }

  /** A set matches when its conditions and every ancestor's conditions hold. */
  private matchSet(schema: SchemaIndex, key: string, env: EvalEnv): boolean {
    for (let set = schema.sets.get(key), depth = 0; ; set = schema.sets.get(set.def.parent_id as string), depth++) {
      if (!set || depth > 64) return false;
      if (!evaluate(set.cond, env)) return false;
      if (!set.def.parent_id) return true;
    }
  }
}
