import type { Principal } from "../auth/principal";
import type { User } from "./user.entity";
import type { UserRepository } from "./user.repository";

/** Users are created lazily: the first authenticated request of a Hanko user records them. */
export class UserService {
  // Users this process has already recorded, with the email it recorded; bounded so it cannot grow without limit.
  private readonly known = new Map<string, string | null>();
  private static readonly KNOWN_MAX = 50_000;

  constructor(private readonly users: UserRepository) {}

  async ensureRecorded(principal: Principal): Promise<void> {
    const email = principal.email ?? null;
    if (this.known.has(principal.userId) && this.known.get(principal.userId) === email) return;
    await this.users.upsert(principal.userId, email);
    if (this.known.size >= UserService.KNOWN_MAX) this.known.clear();
    this.known.set(principal.userId, email);
  }

  findByIds(ids: readonly string[]): Promise<User[]> {
    return this.users.findByIds(ids);
  }

  findByEmail(email: string): Promise<User | null> {
    return this.users.findByEmail(email);
  }
}
