/**
 * The per-request context every resolver receives: who is calling (verified Hanko session),
 * their Authorizer (checks of one tick batched into one PDP call, decisions memoized), the
 * request's loaders, and the use cases. Built by `http/context.ts`.
 */
import type { AuthzContext } from "../authz/context";
import type { ChangeFeed } from "../changes/change-feed";
import type { Logger } from "../common/logger";
import type { NoteEventSource } from "../live/note-event-hub";
import type { NoteService } from "../notes/note.service";
import type { Written } from "../outbox/facts";
import type { UserService } from "../users/user.service";
import type { WorkspaceService } from "../workspaces/workspace.service";
import type { Loaders } from "./loaders";

/** The use cases, created once per process and shared by every request. */
export interface Services {
  notes: NoteService;
  workspaces: WorkspaceService;
  users: UserService;
  changes: ChangeFeed;
}

export interface RequestContext extends AuthzContext {
  loaders: Loaders;
  services: Services;
  /** The caller's tenant roles, read from the PDP on demand. */
  tenantRoles(): Promise<string[]>;
  logger: Logger;
  /** Set when a mutation answered before the PDP acknowledged its facts (`extensions.factsPending`). */
  factsPending?: boolean;
  /** Live note events; present on WebSocket connections only (subscriptions). */
  noteEvents?: NoteEventSource;
  /**
   * A subscription's context lives as long as the subscription: before each event it starts a
   * new Authorizer and new loaders, so no decision or row is reused from an earlier event.
   */
  renewDecisions?(): void;
}

/** The value of a write; remembers for the response when its facts are still pending. */
export function settle<T>(ctx: RequestContext, write: Written<T>): T {
  if (write.factsPending) ctx.factsPending = true;
  return write.value;
}
