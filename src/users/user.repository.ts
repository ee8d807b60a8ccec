import type { DataSource, EntityManager } from "typeorm";
import { User } from "./user.entity";

/** What first sight found: the user is recorded, or Hanko reported them deleted (a tombstone). */
export type UpsertOutcome = "recorded" | "deleted";

export class UserRepository {
  constructor(private readonly ds: DataSource) {}

  findByIds(ids: readonly string[]): Promise<User[]> {
    return this.ds.getRepository(User).createQueryBuilder("u").where("u.id IN (:...ids)", { ids }).getMany();
  }

  /** Deleted users have no email, so they are never found here (nobody can share with them). */
  findByEmail(email: string): Promise<User | null> {
    return this.ds
      .getRepository(User)
      .createQueryBuilder("u")
      .where("lower(u.email) = lower(:email)", { email })
      .andWhere("u.deleted_at IS NULL")
      .getOne();
  }

  /** True when Hanko reported the user deleted. One primary-key read. */
  async isDeleted(id: string): Promise<boolean> {
    const [row] = (await this.ds.query(`SELECT deleted_at IS NOT NULL AS deleted FROM users WHERE id = $1`, [id])) as { deleted: boolean }[];
    return row?.deleted ?? false;
  }

  /**
   * Creates the user on first sight, or refreshes the email from a newer token. An address
   * that moved to another Hanko account is taken from the stale holder (emails are unique).
   * A tombstone (deleted user) is never revived; an email set by a Hanko webhook is kept
   * against tokens issued before it (`issuedAt`, seconds).
   */
  async upsert(id: string, email: string | null, issuedAt?: number): Promise<UpsertOutcome> {
    return this.ds.transaction(async (m: EntityManager) => {
      const [row] = (await m.query(`SELECT email, email_updated_at, deleted_at FROM users WHERE id = $1 FOR UPDATE`, [id])) as {
        email: string | null;
        email_updated_at: Date | null;
        deleted_at: Date | null;
      }[];
      if (row?.deleted_at) return "deleted";
      if (row && row.email === email) return "recorded";
      if (row?.email_updated_at && !(issuedAt !== undefined && issuedAt * 1000 > row.email_updated_at.getTime())) return "recorded";
      if (email !== null) {
        await m.query(`UPDATE users SET email = NULL WHERE lower(email) = lower($1) AND id <> $2`, [email, id]);
      }
      await m.query(
        `INSERT INTO users (id, email) VALUES ($1, $2)
         ON CONFLICT (id) DO UPDATE SET email = EXCLUDED.email WHERE users.email IS DISTINCT FROM EXCLUDED.email AND users.deleted_at IS NULL`,
        [id, email],
      );
      return "recorded";
    });
  }
}
