/**
 * POST /user-permissions (protocol §3): what a user may do, as
 * `{"__tenant:<t>": {tenant, permissions, roles}, "<type>:<key>": {resource, permissions, roles}}`.
 * Tenant entries come from tenant roles (RBAC), instance entries from graph roles (ReBAC).
 * ABAC permissions are added only when `context.enable_abac_user_permissions` is true (the
 * Node SDK never sends it); they are evaluated per stored instance, with its stored attributes.
 */
import type { CheckUser } from "./attributes";
import type { Evaluator } from "./evaluator";
import { RequestMemo } from "./evaluator";
import type { JsonObject } from "./model";
import { candidateInstances, graphRoles } from "./rebac";
import type { Store } from "./store";

export interface UserPermissionsQuery {
  user: CheckUser;
  tenants?: string[];
  resources?: string[];
  resource_types?: string[];
  context: JsonObject;
}

export interface TenantEntry {
  tenant: { key: string; attributes: JsonObject };
  permissions: string[];
  roles: string[];
}

export interface ResourceEntry {
  resource: { key: string; type: string; attributes: JsonObject };
  permissions: string[];
  roles: string[];
}

const TENANT_TYPE = "__tenant";

export function userPermissions(store: Store, evaluator: Evaluator, q: UserPermissionsQuery): Record<string, TenantEntry | ResourceEntry> {
  const schema = evaluator.schema();
  const out: Record<string, TenantEntry | ResourceEntry> = {};
  const user = q.user.key;
  const wantTenant = (t: string): boolean => !q.tenants || q.tenants.includes(t);
  const wantType = (t: string): boolean => !q.resource_types || q.resource_types.includes(t);
  const wantInstance = (type: string, key: string): boolean => !q.resources || q.resources.includes(`${type}:${key}`) || q.resources.includes(key);

  if (wantType(TENANT_TYPE)) {
    for (const [tenant, roleSet] of store.tenantRoles.get(user) ?? []) {
      if (!wantTenant(tenant) || !store.tenants.has(tenant)) continue;
      const permissions = new Set<string>();
      for (const role of roleSet) {
        for (const [type, actions] of schema.tenantGrants.get(role) ?? []) {
          const resource = store.resources.get(type);
          for (const action of actions) if (resource?.actions[action]) permissions.add(`${type}:${action}`);
        }
      }
      out[`${TENANT_TYPE}:${tenant}`] = {
        tenant: { key: tenant, attributes: store.tenants.get(tenant)?.attributes ?? {} },
        permissions: [...permissions].sort(),
        roles: [...roleSet].sort(),
      };
    }
  }

  const entryFor = (id: string): ResourceEntry | undefined => {
    const existing = out[id];
    if (existing) return existing as ResourceEntry;
    const instance = store.instances.get(id);
    if (!instance || !wantTenant(instance.tenant) || !wantType(instance.resource) || !wantInstance(instance.resource, instance.key)) return undefined;
    const entry: ResourceEntry = { resource: { key: instance.key, type: instance.resource, attributes: instance.attributes }, permissions: [], roles: [] };
    out[id] = entry;
    return entry;
  };

  // Only tenant entries asked for (as `me { roles }` does): no instance needs walking.
  const instancesWanted = !q.resource_types || q.resource_types.some((t) => t !== TENANT_TYPE);
  if (instancesWanted && store.users.has(user)) {
    const memo = new RequestMemo();
    for (const id of candidateInstances(store, schema, user)) {
      const roles = graphRoles(store, schema, user, id, memo.graph);
      if (roles.size === 0) continue;
      const entry = entryFor(id);
      if (!entry) continue;
      const grants = schema.resourceGrants.get(entry.resource.type);
      const permissions = new Set<string>();
      for (const role of roles) for (const action of grants?.get(role) ?? []) permissions.add(`${entry.resource.type}:${action}`);
      entry.roles = [...roles].sort();
      entry.permissions = [...permissions].sort();
    }
  }

  if (instancesWanted && q.context.enable_abac_user_permissions === true) {
    for (const [type, byAction] of schema.rules) {
      for (const id of store.instancesByType.list(type)) {
        const instance = store.instances.get(id);
        if (!instance) continue;
        for (const action of byAction.keys()) {
          const decision = evaluator.abac(schema, {
            user: q.user,
            action,
            resource: { type, key: instance.key, tenant: instance.tenant },
            context: q.context,
          });
          if (!decision.allow) continue;
          const entry = entryFor(id);
          const permission = `${type}:${action}`;
          if (entry && !entry.permissions.includes(permission)) entry.permissions = [...entry.permissions, permission].sort();
        }
      }
    }
  }

  // Entries created for ABAC that granted nothing in the end are not reported.
  for (const [id, entry] of Object.entries(out)) if (entry.permissions.length === 0 && entry.roles.length === 0) delete out[id];
  return out;
}
