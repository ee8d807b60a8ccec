import type { DataSource, EntityManager } from "typeorm";
import type { Position } from "../common/cursor";
import { Note } from "./note.entity";

export class NoteRepository {
  constructor(private readonly ds: DataSource) {}

  findByIds(ids: readonly string[]): Promise<Note[]> {
    return this.ds.getRepository(Note).createQueryBuilder("n").where("n.id IN (:...ids)", { ids }).getMany();
  }

  /** Rows after a position in (createdAt DESC, id DESC) order: one index range scan. */
  after(position: Position | null, limit: number, workspaceId: string | null): Promise<Note[]> {
    const qb = this.ds.getRepository(Note).createQueryBuilder("n");
    if (workspaceId !== null) qb.andWhere("n.workspace_id = :workspaceId", { workspaceId });
    if (position !== null) {
      qb.andWhere("(n.created_at, n.id) < (:createdAt, :id)", { createdAt: position.createdAt, id: position.id });
    }
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
