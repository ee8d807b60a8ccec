/**
 * The first authenticated request of a user on this process: record them in the database
 * (creating the row, or refreshing the email from a newer token), then make sure the PDP
 * knows them (once across replicas: permit/user-sync.ts). Concurrent first requests share one
 * attempt; later requests are answered from a bounded memory of who was seen with which email.
 */
import type { Principal } from "../auth/principal";
import type { UserSync } from "../permit/user-sync";
import type { UserRepository } from "./user.repository";

const SEEN_MAX = 100_000;

export class FirstSight {
  private readonly seen = new Map<string, string | null>();
  private readonly inFlight = new Map<string, Promise<void>>();

  constructor(
    private readonly users: Pick<UserRepository, "upsert">,
    private readonly userSync: Pick<UserSync, "ensure">,
  ) {}

  ensure(principal: Principal): Promise<void> {
    const email = principal.email ?? null;
    if (this.seen.has(principal.userId) && this.seen.get(principal.userId) === email) return Promise.resolve();
    const flight = `${principal.userId}\u0000${email ?? ""}`;
    let pending = this.inFlight.get(flight);
    if (!pending) {
      pending = this.record(principal.userId, email).finally(() => this.inFlight.delete(flight));
      this.inFlight.set(flight, pending);
    }
    return pending;
  }

  private async record(userId: string, email: string | null): Promise<void> {
    await this.users.upsert(userId, email);
    await this.userSync.ensure({ userId, ...(email === null ? {} : { email }) });
    if (this.seen.size >= SEEN_MAX) this.seen.clear();
    this.seen.set(userId, email);
  }
}
