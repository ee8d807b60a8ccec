import type { DataSource, EntityManager } from "typeorm";
import { User } from "./user.entity";

export class UserRepository {
  constructor(private readonly ds: DataSource) {}

  findByIds(ids: readonly string[]): Promise<User[]> {
    return this.ds.getRepository(User).createQueryBuilder("u").where("u.id IN (:...ids)", { ids }).getMany();
  }

  findByEmail(email: string): Promise<User | null> {
    return this.ds.getRepository(User).createQueryBuilder("u").where("lower(u.email) = lower(:email)", { email }).getOne();
  }

  /**
   * Creates the user on first sight, or refreshes the email from a newer token. An address
   * that moved to another Hanko account is taken from the stale holder (emails are unique).
   */
  async upsert(id: string, email: string | null): Promise<void> {
    await this.ds.transaction(async (m: EntityManager) => {
      if (email !== null) {
        await m.query(`UPDATE users SET email = NULL WHERE lower(email) = lower($1) AND id <> $2`, [email, id]);
      }
      await m.query(
        `INSERT INTO users (id, email) VALUES ($1, $2)
         ON CONFLICT (id) DO UPDATE SET email = EXCLUDED.email WHERE users.email IS DISTINCT FROM EXCLUDED.email`,
        [id, email],
      );
    });
  }
}
