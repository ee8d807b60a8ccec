/**
 * The facts the API writes to Permit so that the PDP can decide (contract/policy.md, "Facts
 * the API writes"). The database is the source of truth; these writers are called from the
 * outbox and retried until they succeed, so each one is idempotent: a create that finds the
 * object already there (409) and a delete that finds it gone (404) count as done.
 */
import type { Permit, RoleAssignmentRead } from "permitio";
import type { Logger } from "../common/logger";
import { describePermitError, isPermitUnavailable, type PermitFailure } from "./client";
import { listAll, succeeded, tolerating } from "./rest";
import { NoteAttribute, Relation, Resource, TenantRole, WorkspaceAttribute, WorkspaceRoleKey, isWorkspaceRoleKey, workspaceRoleKey } from "../authz/policy";
import type { WorkspaceRole } from "../workspaces/workspace-member.entity";

/** A fact write that failed. Carries a sanitized description of the cause, never the SDK error (it holds the API key). */
export class PermitFactError extends Error {
  readonly operation: string;
  readonly status?: number;
  /**
   * True when Permit was unreachable or failing, or refused our API key (401, 403: nothing
   * about this write, and every write would fail alike until the key is fixed): retry later.
   * False when it rejected the write itself (any other 4xx).
   */
  readonly retryable: boolean;
  readonly failure: PermitFailure;
  constructor(operation: string, err: unknown) {
    const failure = describePermitError(err);
    super(`${operation} failed: ${failure.message}${failure.status ? ` (HTTP ${failure.status})` : ""}`);
    this.name = "PermitFactError";
    this.operation = operation;
    this.status = failure.status;
    this.retryable = isPermitUnavailable(err) || failure.status === 401 || failure.status === 403;
    this.failure = failure;
  }
}

const instanceId = (type: Resource, key: string): string => `${type}:${key}`;

export interface SyncUserResult {
  /** The user did not exist in Permit and was created. */
  created: boolean;
  /** The tenant role `user` was missing and was assigned. */
  assignedUserRole: boolean;
}

export interface PermitFactsOptions {
  permit: Pick<Permit, "api">;
  tenant: string;
  logger?: Logger;
}

export class PermitFacts {
  private readonly api: Permit["api"];
  private readonly tenant: string;
  private readonly logger?: Logger;

  constructor(options: PermitFactsOptions) {
    this.api = options.permit.api;
    this.tenant = options.tenant;
    this.logger = options.logger;
  }

  /**
   * Makes sure the user exists in Permit and holds the tenant role `user`. An existing user is
   * never replaced: attributes (`plan`) and roles (`admin`) granted in Permit since stay.
   */
  async syncUser(user: { key: string; email?: string }): Promise<SyncUserResult> {
    // `key` is the caller's (the principal's) spelling of the user id.
    const { key: userId, email } = user;
    const op = `syncUser(${userId})`;
    let created = false;
    let existing = await this.run(op, () => this.api.users.get(userId), [404]);
    if (existing === undefined) {
      // PUT (users.sync) would replace the whole user; POST only creates.
      await this.run(op, () => this.api.users.create({ key: userId, ...(email ? { email } : {}) }), [409]);
      created = true;
    } else if (email && existing.email !== email) {
      // Keeps the admin CLI's lookup by email current; PATCH touches only the email.
      existing = await this.run(op, () => this.api.users.update(userId, { email }));
    }
    // A user just created has no roles yet; a known one usually lists its tenant roles on
    // the read above, and the assignments are listed only when it does not.
    const listed = existing?.roles?.some((r) => r.role === TenantRole.user && r.tenant === this.tenant) ?? false;
    const hasUserRole = !created && (listed || (await this.hasTenantRole(userId, TenantRole.user)));
    if (!hasUserRole) {
      await this.run(op, () => this.api.roleAssignments.assign({ user: userId, role: TenantRole.user, tenant: this.tenant }), [409]);
    }
    if (created || !hasUserRole) this.logger?.info({ user: userId, created, assignedUserRole: !hasUserRole }, "permit user synced");
    return { created, assignedUserRole: !hasUserRole };
  }

  /**
   * Removes the user from Permit: every role assignment of theirs (tenant and instance roles,
   * in one bulk call), then the user. Done when the user is already gone (404).
   */
  async deleteUser(userId: string): Promise<void> {
    const op = `deleteUser(${userId})`;
    const assignments = await listAll(
      async (page, perPage) => (await this.run(op, () => this.api.roleAssignments.list({ user: userId, page, perPage }), [404])) ?? [],
    );
    const mine = assignments.filter((a) => a.user === userId || a.user_id === userId);
    if (mine.length > 0) {
      await this.run(
        op,
        () =>
          this.api.roleAssignments.bulkUnassign(
            mine.map((a) => ({ user: userId, role: a.role, tenant: a.tenant ?? this.tenant, ...(a.resource_instance ? { resource_instance: a.resource_instance } : {}) })),
          ),
        [404],
      );
    }
    await this.run(op, () => this.api.users.delete(userId), [404]);
  }

  /** Sets the Permit user's email (null clears it); nothing to do for a user Permit does not know. */
  async setUserEmail(userId: string, email: string | null): Promise<void> {
    await this.run(`setUserEmail(${userId})`, () => this.api.users.update(userId, { email: email ?? undefined }), [404]);
  }

  /** True when Permit knows the user (a REST read: call it only on evidence, never per request). */
  async userExists(userId: string): Promise<boolean> {
    return (await this.run(`userExists(${userId})`, () => this.api.users.get(userId), [404])) !== undefined;
  }

  /** The user's tenant-level roles in the configured tenant (instance roles excluded), sorted. */
  async tenantRoles(userId: string): Promise<string[]> {
    const assignments = await this.listAssignments(`tenantRoles(${userId})`, { user: userId, tenant: this.tenant });
    const roles = assignments.filter((a) => !a.resource_instance && (a.tenant === undefined || a.tenant === this.tenant)).map((a) => a.role);
    return [...new Set(roles)].sort();
  }

  /** Instance `workspaces:W` with its owner, and role `owner` on it for the owner. */
  async createWorkspace(workspaceId: string, ownerId: string): Promise<void> {
    const op = `createWorkspace(${workspaceId})`;
    await this.createInstance(op, Resource.workspaces, workspaceId, { [WorkspaceAttribute.owner]: ownerId });
    await this.assignInstanceRole(op, ownerId, WorkspaceRoleKey.owner, instanceId(Resource.workspaces, workspaceId));
  }

  /** Gives the user exactly `role` on the workspace, replacing any other role they held there. */
  async setWorkspaceRole(workspaceId: string, userId: string, role: WorkspaceRoleKey | WorkspaceRole): Promise<void> {
    const roleKey = isWorkspaceRoleKey(role) ? role : workspaceRoleKey(role);
    // Checked before any write: an unknown role must not cost the user the role they hold.
    if (!roleKey) throw new TypeError(`Unknown workspace role ${JSON.stringify(role)}`);
    const op = `setWorkspaceRole(${workspaceId}, ${userId}, ${roleKey})`;
    const instance = instanceId(Resource.workspaces, workspaceId);
    const current = await this.instanceAssignments(op, userId, instance);
    // Revoke first: a demotion takes effect before anything else, never briefly the union of both.
    for (const a of current.filter((x) => x.role !== roleKey)) {
      await this.run(op, () => this.api.roleAssignments.unassign({ user: userId, role: a.role, resource_instance: instance, tenant: this.tenant }), [404]);
    }
    if (!current.some((x) => x.role === roleKey)) await this.assignInstanceRole(op, userId, roleKey, instance);
  }

  /** Removes every role the user holds on the workspace. */
  async removeWorkspaceRole(workspaceId: string, userId: string): Promise<void> {
    const op = `removeWorkspaceRole(${workspaceId}, ${userId})`;
    const instance = instanceId(Resource.workspaces, workspaceId);
    for (const a of await this.instanceAssignments(op, userId, instance)) {
      await this.run(op, () => this.api.roleAssignments.unassign({ user: userId, role: a.role, resource_instance: instance, tenant: this.tenant }), [404]);
    }
  }

  /** Instance `notes:N` `{owner, workspace?}`; in a workspace also the tuple `workspaces:W —parent→ notes:N`. */
  async createNote(noteId: string, ownerId: string, workspaceId?: string): Promise<void> {
    const op = `createNote(${noteId})`;
    await this.createInstance(op, Resource.notes, noteId, {
      [NoteAttribute.owner]: ownerId,
      ...(workspaceId ? { [NoteAttribute.workspace]: workspaceId } : {}),
    });
    if (workspaceId) {
      await this.run(
        op,
        () =>
          this.api.relationshipTuples.create({
            subject: instanceId(Resource.workspaces, workspaceId),
            relation: Relation.parent,
            object: instanceId(Resource.notes, noteId),
            tenant: this.tenant,
          }),
        [409],
      );
    }
  }

  /** Deletes `notes:N`; its tuples and role assignments go with it. */
  async deleteNote(noteId: string): Promise<void> {
    await this.run(`deleteNote(${noteId})`, () => this.api.resourceInstances.delete(instanceId(Resource.notes, noteId)), [404]);
  }

  /** Deletes `workspaces:W`; its role assignments and tuples go with it. */
  async deleteWorkspace(workspaceId: string): Promise<void> {
    await this.run(`deleteWorkspace(${workspaceId})`, () => this.api.resourceInstances.delete(instanceId(Resource.workspaces, workspaceId)), [404]);
  }

  // ─── helpers ────────────────────────────────────────────────────────────────────────

  /**
   * Runs one SDK call; a status in `done` means the desired state already holds and yields
   * undefined. Any other failure becomes a PermitFactError.
   */
  private async run<T>(operation: string, call: () => Promise<T>, done: number[] = []): Promise<T | undefined> {
    try {
      return await tolerating(done, call);
    } catch (err) {
      throw this.failed(operation, err);
    }
  }

  private failed(operation: string, err: unknown): PermitFactError {
    const error = new PermitFactError(operation, err);
    this.logger?.warn({ operation, permit: error.failure, retryable: error.retryable }, "permit fact write failed");
    return error;
  }

  private async hasTenantRole(userId: string, role: string): Promise<boolean> {
    const assignments = await this.listAssignments(`syncUser(${userId})`, { user: userId, tenant: this.tenant, role });
    return assignments.some((a) => a.role === role && !a.resource_instance);
  }

  private instanceAssignments(operation: string, userId: string, instance: string): Promise<RoleAssignmentRead[]> {
    return this.listAssignments(operation, { user: userId, tenant: this.tenant, resourceInstance: instance }).then((all) =>
      // Filtered again here: a server that ignores the filter must not make us unassign elsewhere.
      all.filter((a) => a.resource_instance === instance),
    );
  }

  private listAssignments(
    operation: string,
    filter: { user: string; tenant: string; role?: string; resourceInstance?: string },
  ): Promise<RoleAssignmentRead[]> {
    return listAll(async (page, perPage) => (await this.run(operation, () => this.api.roleAssignments.list({ ...filter, page, perPage }))) ?? []);
  }

  private async createInstance(operation: string, type: Resource, key: string, attributes: Record<string, unknown>): Promise<void> {
    // POST /resource_instances answers 200 with the existing object when it is already there;
    // 409 is accepted too, for servers that report the duplicate instead.
    await this.run(operation, () => this.api.resourceInstances.create({ key, resource: type, tenant: this.tenant, attributes }), [409]);
  }

  private async assignInstanceRole(operation: string, userId: string, role: string, instance: string): Promise<void> {
    const assign = () => this.api.roleAssignments.assign({ user: userId, role, resource_instance: instance, tenant: this.tenant });
    const userKnown = await this.run(operation, () => succeeded([404], () => tolerating([409], assign)));
    if (userKnown) return;
    // Sharing with someone who never signed in: Permit does not know the user yet. Create
    // the bare user (their first request assigns `user` and sets the email) and retry once.
    await this.run(operation, () => this.api.users.create({ key: userId }), [409]);
    await this.run(operation, assign, [409]);
  }
}
