/**
 * The first authenticated request of a user on this process: record them in the database
 * (creating the row, or refreshing the email from a newer token), then make sure the PDP
 * knows them (once across replicas: permit/user-sync.ts). Concurrent first requests share one
 * attempt; later requests are answered from a bounded memory of who was seen with which email,
 * plus one primary-key read that refuses users Hanko reported deleted (on every replica, as
 * soon as the webhook is stored: `users.deleted_at`).
 */
import type { Principal } from "../auth/principal";
import { AuthFailureReason, authFailure } from "../auth/session-verifier";
import type { UserSync } from "../permit/user-sync";
import type { UserRepository } from "./user.repository";

const SEEN_MAX = 100_000;

export const userDeleted = () => authFailure(AuthFailureReason.USER_DELETED);

export class FirstSight {
  private readonly seen = new Map<string, string | null>();
  private readonly inFlight = new Map<string, Promise<void>>();

  constructor(
    private readonly users: Pick<UserRepository, "upsert" | "isDeleted">,
    private readonly userSync: Pick<UserSync, "ensure">,
  ) {}

  async ensure(principal: Principal): Promise<void> {
    const email = principal.email ?? null;
    if (this.seen.has(principal.userId) && this.seen.get(principal.userId) === email) {
      if (await this.users.isDeleted(principal.userId)) {
        this.seen.delete(principal.userId);
        throw userDeleted();
      }
      return;
    }
    const flight = `${principal.userId}\u0000${email ?? ""}`;
    let pending = this.inFlight.get(flight);
    if (!pending) {
      pending = this.record(principal.userId, email, principal.issuedAt).finally(() => this.inFlight.delete(flight));
      this.inFlight.set(flight, pending);
    }
    return pending;
  }

  private async record(userId: string, email: string | null, issuedAt: number | undefined): Promise<void> {
    if ((await this.users.upsert(userId, email, issuedAt)) === "deleted") throw userDeleted();
    await this.userSync.ensure({ userId, ...(email === null ? {} : { email }) });
    if (this.seen.size >= SEEN_MAX) this.seen.clear();
    this.seen.set(userId, email);
  }
}
