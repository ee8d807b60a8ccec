/**
 * The default authorization policy (`/work/shared/contract/policy.md`) as typed data.
 *
 * This module is the single source of every name the authorization layer uses: resource
 * types, actions, roles, relations, condition sets and attributes. Rules and services import
 * the constants below instead of writing string literals, and `npm run permit:apply` pushes
 * the `policy` object to Permit (or to the local Permit-compatible PDP), so what the code asks
 * and what the PDP knows cannot drift apart.
 */

import { WorkspaceRole } from "../workspaces/workspace-member.entity";

// ─── names ──────────────────────────────────────────────────────────────────────────────

export const Resource = {
  notes: "notes",
  workspaces: "workspaces",
} as const;
export type Resource = (typeof Resource)[keyof typeof Resource];

export const NoteAction = {
  get: "get",
  post: "post",
  put: "put",
  delete: "delete",
} as const;
export type NoteAction = (typeof NoteAction)[keyof typeof NoteAction];

export const WorkspaceAction = {
  get: "get",
  post: "post",
  put: "put",
  delete: "delete",
  share: "share",
  add_note: "add_note",
} as const;
export type WorkspaceAction = (typeof WorkspaceAction)[keyof typeof WorkspaceAction];

/** Actions per resource type, in the order the contract lists them. */
export const Actions = {
  [Resource.notes]: Object.values(NoteAction),
  [Resource.workspaces]: Object.values(WorkspaceAction),
} as const satisfies Record<Resource, readonly string[]>;

/** Tenant-level roles (RBAC). */
export const TenantRole = {
  admin: "admin",
  user: "user",
} as const;
export type TenantRole = (typeof TenantRole)[keyof typeof TenantRole];

/** Resource roles on `workspaces` instances (ReBAC). */
export const WorkspaceRoleKey = {
  owner: "owner",
  editor: "editor",
  viewer: "viewer",
} as const;
export type WorkspaceRoleKey = (typeof WorkspaceRoleKey)[keyof typeof WorkspaceRoleKey];

/** Resource roles on `notes` instances, all derived from the parent workspace. */
export const NoteRoleKey = {
  manager: "manager",
  editor: "editor",
  viewer: "viewer",
} as const;
export type NoteRoleKey = (typeof NoteRoleKey)[keyof typeof NoteRoleKey];

/** Relations, defined on the object type: `workspaces:W —parent→ notes:N`. */
export const Relation = {
  parent: "parent",
} as const;
export type Relation = (typeof Relation)[keyof typeof Relation];

export const NoteAttribute = {
  /** Hanko user id of the author. */
  owner: "owner",
  /** Workspace id; absent for personal notes. */
  workspace: "workspace",
} as const;

export const WorkspaceAttribute = {
  owner: "owner",
} as const;

/** User attributes stored in Permit (set there, never by the client). */
export const UserAttribute = {
  plan: "plan",
} as const;
export const PREMIUM_PLAN = "premium";

export const ConditionSetKey = {
  ownNotes: "own_notes",
  premium: "premium",
} as const;
export type ConditionSetKey = (typeof ConditionSetKey)[keyof typeof ConditionSetKey];

/** The user set Permit derives from a tenant role (`"<role>" ∈ user.roles`). */
export const autogenUserSet = (role: TenantRole): string => `__autogen_${role}`;
/** The resource set Permit derives from a resource type (every instance of it). */
export const autogenResourceSet = (resource: Resource): string => `__autogen_${resource}`;
/** A permission as Permit spells it on tenant roles and set rules. */
export const permission = (resource: Resource, action: string): string => `${resource}:${action}`;

const workspaceRoleKeys: Readonly<Record<WorkspaceRole, WorkspaceRoleKey>> = {
  OWNER: WorkspaceRoleKey.owner,
  EDITOR: WorkspaceRoleKey.editor,
  VIEWER: WorkspaceRoleKey.viewer,
};

/** GraphQL enum value → resource role key on `workspaces`. */
export function workspaceRoleKey(role: WorkspaceRole): WorkspaceRoleKey {
  return workspaceRoleKeys[role];
}

/** Resource role key on `workspaces` → GraphQL enum value; undefined for a key the policy does not define. */
export function workspaceRoleFromKey(key: string): WorkspaceRole | undefined {
  for (const [role, roleKey] of Object.entries(workspaceRoleKeys) as [WorkspaceRole, WorkspaceRoleKey][]) {
    if (roleKey === key) return role;
  }
  return undefined;
}

export function isWorkspaceRoleKey(key: string): key is WorkspaceRoleKey {
  return (Object.values(WorkspaceRoleKey) as string[]).includes(key);
}

/** The actions `Note.viewerCan` and `Workspace.viewerCan` report (contract/schema.graphql). */
export const NoteViewerCan = [NoteAction.get, NoteAction.put, NoteAction.delete] as const;
export const WorkspaceViewerCan = [
  WorkspaceAction.get,
  WorkspaceAction.put,
  WorkspaceAction.delete,
  WorkspaceAction.share,
  WorkspaceAction.add_note,
] as const;

// ─── the policy as data ─────────────────────────────────────────────────────────────────

export type AttributeType = "bool" | "number" | "string" | "time" | "array" | "json";

/** A derivation: holders of `role` on the related `onResource` instance get this role. */
export interface Derivation {
  role: string;
  onResource: Resource;
  /** A relation defined on the resource that owns the derived role. */
  linkedByRelation: Relation;
}

export interface ResourceRolePolicy {
  key: string;
  name: string;
  description?: string;
  /** Action keys of the resource the role belongs to. */
  permissions: readonly string[];
  grantedTo?: readonly Derivation[];
}

export interface RelationPolicy {
  key: Relation;
  name: string;
  /** The subject side of the tuple (`subject —key→ object`, object = this resource). */
  subject: Resource;
}

export interface ResourcePolicy {
  key: Resource;
  name: string;
  description?: string;
  actions: readonly string[];
  attributes: Readonly<Record<string, { type: AttributeType; description?: string }>>;
  relations: readonly RelationPolicy[];
  roles: readonly ResourceRolePolicy[];
}

export interface TenantRolePolicy {
  key: TenantRole;
  name: string;
  description?: string;
  /** `"<resource>:<action>"` */
  permissions: readonly string[];
}

/** Permit's condition language (§6.5 of the protocol reference), kept as plain JSON. */
export type Condition = { [key: string]: unknown };

export interface ConditionSetPolicy {
  key: string;
  name: string;
  description?: string;
  type: "userset" | "resourceset";
  /** Resource sets only: the resource type the set ranges over. */
  resource?: Resource;
  conditions: Condition;
}

export interface SetRulePolicy {
  userSet: string;
  resourceSet: string;
  /** `"<resource>:<action>"` */
  permissions: readonly string[];
}

export interface Policy {
  resources: readonly ResourcePolicy[];
  roles: readonly TenantRolePolicy[];
  conditionSets: readonly ConditionSetPolicy[];
  setRules: readonly SetRulePolicy[];
}

const allPermissions = (resource: Resource): string[] => Actions[resource].map((a) => permission(resource, a));

export const policy: Policy = {
  resources: [
    {
      key: Resource.workspaces,
      name: "Workspace",
      description: "A shared space whose members get roles on the notes it contains.",
      actions: Actions.workspaces,
      attributes: {
        [WorkspaceAttribute.owner]: { type: "string", description: "Hanko user id of the creator" },
      },
      relations: [],
      roles: [
        {
          key: WorkspaceRoleKey.owner,
          name: "Workspace owner",
          permissions: [
            WorkspaceAction.get,
            WorkspaceAction.put,
            WorkspaceAction.delete,
            WorkspaceAction.share,
            WorkspaceAction.add_note,
          ],
        },
        { key: WorkspaceRoleKey.editor, name: "Workspace editor", permissions: [WorkspaceAction.get, WorkspaceAction.add_note] },
        { key: WorkspaceRoleKey.viewer, name: "Workspace viewer", permissions: [WorkspaceAction.get] },
      ],
    },
    {
      key: Resource.notes,
      name: "Note",
      description: "A note; personal unless it belongs to a workspace.",
      actions: Actions.notes,
      attributes: {
        [NoteAttribute.owner]: { type: "string", description: "Hanko user id of the author" },
        [NoteAttribute.workspace]: { type: "string", description: "Workspace id; absent for personal notes" },
      },
      relations: [{ key: Relation.parent, name: "Parent workspace", subject: Resource.workspaces }],
      roles: [
        {
          key: NoteRoleKey.manager,
          name: "Note manager",
          permissions: [NoteAction.get, NoteAction.put, NoteAction.delete],
          grantedTo: [{ role: WorkspaceRoleKey.owner, onResource: Resource.workspaces, linkedByRelation: Relation.parent }],
        },
        {
          key: NoteRoleKey.editor,
          name: "Note editor",
          permissions: [NoteAction.get, NoteAction.put],
          grantedTo: [{ role: WorkspaceRoleKey.editor, onResource: Resource.workspaces, linkedByRelation: Relation.parent }],
        },
        {
          key: NoteRoleKey.viewer,
          name: "Note viewer",
          permissions: [NoteAction.get],
          grantedTo: [{ role: WorkspaceRoleKey.viewer, onResource: Resource.workspaces, linkedByRelation: Relation.parent }],
        },
      ],
    },
  ],
  roles: [
    {
      key: TenantRole.admin,
      name: "Admin",
      description: "Every action on notes and workspaces",
      permissions: [...allPermissions(Resource.notes), ...allPermissions(Resource.workspaces)],
    },
    {
      key: TenantRole.user,
      name: "User",
      description: "Given to every user on first sight",
      permissions: [permission(Resource.notes, NoteAction.get), permission(Resource.notes, NoteAction.post)],
    },
  ],
  conditionSets: [
    {
      key: ConditionSetKey.ownNotes,
      name: "Own notes",
      description: "Notes whose owner is the user",
      type: "resourceset",
      resource: Resource.notes,
      conditions: { allOf: [{ [`resource.${NoteAttribute.owner}`]: { equals: { ref: "user.key" } } }] },
    },
    {
      key: ConditionSetKey.premium,
      name: "Premium users",
      description: "Users on the premium plan",
      type: "userset",
      conditions: { allOf: [{ [`user.${UserAttribute.plan}`]: { equals: PREMIUM_PLAN } }] },
    },
  ],
  setRules: [
    {
      userSet: autogenUserSet(TenantRole.user),
      resourceSet: ConditionSetKey.ownNotes,
      permissions: [permission(Resource.notes, NoteAction.put), permission(Resource.notes, NoteAction.delete)],
    },
    {
      userSet: ConditionSetKey.premium,
      resourceSet: autogenResourceSet(Resource.workspaces),
      permissions: [permission(Resource.workspaces, WorkspaceAction.post)],
    },
  ],
};

/**
 * Internal consistency of a policy: every permission names a defined action, every derivation
 * a defined relation and role, every set rule a defined (or autogenerated) set. Returns the
 * problems found; the apply script refuses a policy with any, before touching the PDP.
 */
export function validatePolicy(p: Policy): string[] {
  const problems: string[] = [];
  const resources = new Map(p.resources.map((r) => [r.key as string, r]));
  const tenantRoles = new Set(p.roles.map((r) => r.key as string));
  const sets = new Map(p.conditionSets.map((s) => [s.key, s]));
  const checkPermission = (where: string, perm: string) => {
    const [type, action, extra] = perm.split(":");
    const resource = resources.get(type);
    if (extra !== undefined || !action) problems.push(`${where}: malformed permission "${perm}"`);
    else if (!resource) problems.push(`${where}: unknown resource in "${perm}"`);
    else if (!resource.actions.includes(action)) problems.push(`${where}: unknown action in "${perm}"`);
  };
  const dup = (what: string, keys: string[]) => {
    const seen = new Set<string>();
    for (const k of keys) {
      if (seen.has(k)) problems.push(`duplicate ${what} "${k}"`);
      seen.add(k);
    }
  };
  dup("resource", p.resources.map((r) => r.key));
  dup("tenant role", p.roles.map((r) => r.key));
  dup("condition set", p.conditionSets.map((s) => s.key));

  for (const r of p.resources) {
    dup(`role of ${r.key}`, r.roles.map((x) => x.key));
    dup(`relation of ${r.key}`, r.relations.map((x) => x.key));
    for (const rel of r.relations) {
      if (!resources.has(rel.subject)) problems.push(`relation ${r.key}.${rel.key}: unknown subject resource "${rel.subject}"`);
    }
    for (const role of r.roles) {
      for (const a of role.permissions) {
        if (!r.actions.includes(a)) problems.push(`role ${r.key}#${role.key}: unknown action "${a}"`);
      }
      for (const d of role.grantedTo ?? []) {
        const rel = r.relations.find((x) => x.key === d.linkedByRelation);
        if (!rel) problems.push(`role ${r.key}#${role.key}: relation "${d.linkedByRelation}" is not defined on ${r.key}`);
        else if (rel.subject !== d.onResource) {
          problems.push(`role ${r.key}#${role.key}: relation "${d.linkedByRelation}" links ${rel.subject}, not ${d.onResource}`);
        }
        const other = resources.get(d.onResource);
        if (!other?.roles.some((x) => x.key === d.role)) {
          problems.push(`role ${r.key}#${role.key}: derives from undefined role ${d.onResource}#${d.role}`);
        }
      }
    }
  }
  for (const role of p.roles) role.permissions.forEach((perm) => checkPermission(`tenant role ${role.key}`, perm));
  for (const s of p.conditionSets) {
    if (s.type === "resourceset" && !(s.resource && resources.has(s.resource))) {
      problems.push(`condition set ${s.key}: a resource set needs a defined resource`);
    }
    if (s.type === "userset" && s.resource) problems.push(`condition set ${s.key}: a user set has no resource`);
  }
  for (const rule of p.setRules) {
    const where = `set rule ${rule.userSet} × ${rule.resourceSet}`;
    const userSet = sets.get(rule.userSet);
    const autogenRole = rule.userSet.startsWith("__autogen_") && tenantRoles.has(rule.userSet.slice("__autogen_".length));
    if (!(userSet?.type === "userset" || autogenRole)) problems.push(`${where}: unknown user set`);
    const resourceSet = sets.get(rule.resourceSet);
    const autogenResource = rule.resourceSet.startsWith("__autogen_") ? rule.resourceSet.slice("__autogen_".length) : undefined;
    const setResource = resourceSet?.type === "resourceset" ? resourceSet.resource : autogenResource && resources.has(autogenResource) ? autogenResource : undefined;
    if (!setResource) problems.push(`${where}: unknown resource set`);
    for (const perm of rule.permissions) {
      checkPermission(where, perm);
      if (setResource && perm.split(":")[0] !== setResource) problems.push(`${where}: "${perm}" is not on ${setResource}`);
    }
  }
  return problems;
}
