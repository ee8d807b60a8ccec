import type { PlanCondition } from "@notes/local-pdp";
import type { DataSource, EntityManager, SelectQueryBuilder } from "typeorm";
import { NoteAttribute, Relation, Resource, workspaceRoleFromKey } from "../authz/policy";
import type { Position } from "../common/cursor";
import { isUuid } from "../common/validation";
import { Note } from "./note.entity";

/**
 * Which notes a page may draw from: every row, none, or those a list plan selects
 * (authz/list-plan.ts). `instanceRoles` are the caller's own role assignments on instances,
 * as `type:key` → role keys, for the parts of the plan that name roles.
 */
export type NoteCandidates =
  | { kind: "all" }
  | { kind: "none" }
  | { kind: "where"; condition: PlanCondition; userId: string; instanceRoles: ReadonlyMap<string, readonly string[]> };

export class NoteRepository {
  constructor(private readonly ds: DataSource) {}

  findByIds(ids: readonly string[]): Promise<Note[]> {
    return this.ds.getRepository(Note).createQueryBuilder("n").where("n.id IN (:...ids)", { ids }).getMany();
  }

  /**
   * Rows after a position in (createdAt DESC, id DESC) order, among the candidates: each part of
   * a plan is one index range scan (by owner, by workspace, or by date).
   */
  after(position: Position | null, limit: number, workspaceId: string | null, candidates: NoteCandidates = { kind: "all" }): Promise<Note[]> {
    if (candidates.kind === "none") return Promise.resolve([]);
    const qb = this.ds.getRepository(Note).createQueryBuilder("n");
    const window = (a: string) =>
      [
        ...(workspaceId === null ? [] : [`${a}.workspace_id = :workspaceId`]),
        ...(position === null ? [] : [`(${a}.created_at, ${a}.id) < (:createdAt, :id)`]),
      ].join(" AND ");
    qb.setParameters({ workspaceId, ...(position === null ? {} : { createdAt: position.createdAt, id: position.id }) });
    if (window("n")) qb.andWhere(window("n"));
    if (candidates.kind === "where") restrictToPlan(qb, candidates, { window, limit });
    return qb.orderBy("n.created_at", "DESC").addOrderBy("n.id", "DESC").limit(limit).getMany();
  }

  insert(m: EntityManager, note: Pick<Note, "title" | "body" | "ownerId" | "workspaceId">): Promise<Note> {
    return m.save(Note, m.create(Note, note));
  }

  /** Applies a change only if the version still matches (when given); returns the new row or null. */
  async update(
    m: EntityManager,
    id: string,
    change: Partial<Pick<Note, "title" | "body">>,
    expectedVersion: number | null,
  ): Promise<Note | null> {
    const qb = m
      .createQueryBuilder()
      .update(Note)
      .set({ ...change })
      .where("id = :id", { id });
    if (expectedVersion !== null) qb.andWhere("version = :expectedVersion", { expectedVersion });
    const result = await qb.returning("*").execute();
    if (!result.affected) return null;
    return m.getRepository(Note).findOneByOrFail({ id });
  }

  async delete(m: EntityManager, id: string): Promise<boolean> {
    const result = await m.getRepository(Note).delete({ id });
    return (result.affected ?? 0) > 0;
  }

  findById(m: EntityManager, id: string): Promise<Note | null> {
    return m.getRepository(Note).findOneBy({ id });
  }
}

/**
 * Adds a list plan's condition to the query. A part that has no SQL form here (an attribute
 * without a column, another relation) counts as "any row", so the query can only be wider than
 * the plan, never narrower.
 *
 * A plan that is a union ("own notes, or notes of my workspaces") becomes one ordered, limited
 * scan per part, merged: as a single `OR`, PostgreSQL could use no index for the order and would
 * walk the whole table by date to find a few rows.
 */
function restrictToPlan(
  qb: SelectQueryBuilder<Note>,
  plan: Extract<NoteCandidates, { kind: "where" }>,
  page: { window: (alias: string) => string; limit: number },
): void {
  let n = 0;
  const params: Record<string, unknown> = { planUser: plan.userId, planLimit: page.limit };
  const param = (value: unknown) => {
    const name = `plan${n++}`;
    params[name] = value;
    return name;
  };
  /** `column IN (values)`, keeping only values that can equal a uuid column. */
  const uuidIn = (column: string, values: readonly unknown[]): string => {
    const ids = values.filter((v): v is string => typeof v === "string" && isUuid(v));
    return ids.length === 0 ? "FALSE" : `${column} IN (:...${param(ids.map((id) => id.toLowerCase()))})`;
  };
  const heldOn = (type: string, roles: readonly string[]): string[] =>
    [...plan.instanceRoles].filter(([instance, held]) => instance.startsWith(`${type}:`) && held.some((r) => roles.includes(r))).map(([instance]) => instance.slice(type.length + 1));

  /** Workspaces whose row satisfies `c`, as SQL over the workspace id `w`, or undefined when it has no SQL form. */
  const workspacesWhere = (c: PlanCondition, w: string): string | undefined => {
    switch (c.kind) {
      case "role": {
        const dbRoles = c.roles.map(workspaceRoleFromKey).filter((r) => r !== undefined);
        // Memberships are the database's (the source of the facts); roles given by hand in Permit come with the assignments.
        const members = dbRoles.length === 0 ? "FALSE" : `${w} IN (SELECT wm.workspace_id FROM workspace_members wm WHERE wm.user_id = :planUser AND wm.role IN (:...${param(dbRoles)}))`;
        return `(${members} OR ${uuidIn(w, heldOn(Resource.workspaces, c.roles))})`;
      }
      case "attribute":
        return c.attribute === "key" ? uuidIn(w, c.values) : c.attribute === "owner" ? `${w} IN (SELECT ws.id FROM workspaces ws WHERE ${uuidIn("ws.owner_id", c.values)})` : undefined;
      case "any": {
        const parts = c.items.map((i) => workspacesWhere(i, w));
        return parts.some((p) => p === undefined) ? undefined : `(${parts.join(" OR ")})`;
      }
      case "all": {
        const parts = c.items.map((i) => workspacesWhere(i, w)).filter((p) => p !== undefined);
        return parts.length === 0 ? undefined : `(${parts.join(" AND ")})`;
      }
      case "related":
        return undefined;
    }
  };

  const notesWhere = (c: PlanCondition, a: string): string | undefined => {
    switch (c.kind) {
      case "attribute": {
        const column = { key: "id", [NoteAttribute.owner]: "owner_id", [NoteAttribute.workspace]: "workspace_id" }[c.attribute];
        return column === undefined ? undefined : uuidIn(`${a}.${column}`, c.values);
      }
      case "role":
        return uuidIn(`${a}.id`, heldOn(Resource.notes, c.roles));
      case "related":
        if (c.relation !== Relation.parent || c.subjectType !== Resource.workspaces) return undefined;
        return workspacesWhere(c.subject, `${a}.workspace_id`);
      case "any": {
        const parts = c.items.map((i) => notesWhere(i, a));
        return parts.some((p) => p === undefined) ? undefined : `(${parts.join(" OR ")})`;
      }
      case "all": {
        const parts = c.items.map((i) => notesWhere(i, a)).filter((p) => p !== undefined);
        return parts.length === 0 ? undefined : `(${parts.join(" AND ")})`;
      }
    }
  };

  const union = (c: PlanCondition): PlanCondition[] => (c.kind === "any" ? c.items.flatMap(union) : [c]);
  const parts = union(plan.condition);
  const scans = parts.map((part, i) => ({ alias: `p${i}`, sql: notesWhere(part, `p${i}`) }));
  // A part without an SQL form may hold for any row: no restriction at all.
  if (scans.some((scan) => scan.sql === undefined)) return;
  const live = scans.filter((scan) => scan.sql !== "FALSE");
  if (live.length === 0) {
    qb.andWhere("FALSE");
    return;
  }
  if (parts.length === 1) {
    qb.andWhere(notesWhere(parts[0]!, "n")!, params);
    return;
  }
  const selects = live.map(({ alias: a, sql }) => {
    const window = page.window(a);
    return `(SELECT ${a}.id FROM notes ${a} WHERE ${sql}${window ? ` AND ${window}` : ""} ORDER BY ${a}.created_at DESC, ${a}.id DESC LIMIT :planLimit)`;
  });
  qb.andWhere(`n.id IN (${selects.join(" UNION ALL ")})`, params);
}
