import type { User } from "./user.entity";
import type { UserRepository } from "./user.repository";

/** Users are recorded on first sight (first-sight.ts); these are the reads. */
export class UserService {
  constructor(private readonly users: UserRepository) {}

  findByIds(ids: readonly string[]): Promise<User[]> {
    return this.users.findByIds(ids);
  }

  findByEmail(email: string): Promise<User | null> {
    return this.users.findByEmail(email);
  }
}
