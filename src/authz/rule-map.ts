/**
 * The rule map: every Query, Mutation and Subscription field and every object type of the schema has an
 * entry (a test fails otherwise, and the map is snapshotted so that a diff reads as a
 * permission change). Anything not listed is denied by `fallbackRule`.
 */
import { allow, deny, shield, type IRules } from "graphql-shield";
import { middleware, type IMiddlewareTypeMap } from "graphql-middleware";
import { AppError, ErrorCode } from "../common/errors";
import {
  authorizedByParent,
  canCreateNote,
  canCreateWorkspace,
  canDeleteNote,
  canListNotes,
  canReadNote,
  canReadWorkspace,
  canShareWorkspace,
  canUpdateNote,
  isAuthenticated,
} from "./rules";

export const ruleMap = {
  Query: {
    me: isAuthenticated,
    note: canReadNote,
    notes: canListNotes,
    workspace: canReadWorkspace,
    workspaces: isAuthenticated,
    noteChangesHead: isAuthenticated,
    noteChanges: canListNotes,
  },
  Mutation: {
    createNote: canCreateNote,
    updateNote: canUpdateNote,
    deleteNote: canDeleteNote,
    createWorkspace: canCreateWorkspace,
    shareWorkspace: canShareWorkspace,
    unshareWorkspace: canShareWorkspace,
  },
  // Decided when subscribing (the shield wraps `subscribe`, graphql/schema.ts); each event is decided on its own.
  Subscription: {
    noteEvents: canListNotes,
  },
  NoteEvent: authorizedByParent,
  NoteChange: authorizedByParent,
  NoteChangePage: authorizedByParent,
  Viewer: authorizedByParent,
  User: authorizedByParent,
  Note: authorizedByParent,
  NotePermissions: authorizedByParent,
  NoteConnection: authorizedByParent,
  NoteEdge: authorizedByParent,
  PageInfo: authorizedByParent,
  Workspace: authorizedByParent,
  WorkspaceMember: authorizedByParent,
  WorkspacePermissions: authorizedByParent,
} satisfies IRules;

/**
 * The shield as middleware, on the fields where a rule decides. Types whose rule is `allow`
 * (reached only through an authorized parent) are left unwrapped: wrapping their every field
 * would cost a promise per field per row and decide nothing. Every other field, including
 * those of any type the map does not list, keeps its rule or the fallback `deny`.
 */
export function createShield() {
  const rules = shield(ruleMap, {
    fallbackRule: deny,
    // Rules throw AppErrors (NOT_FOUND, AUTHZ_UNAVAILABLE, ...) that must reach the client as they are.
    allowExternalErrors: true,
    // A string here would surface as INTERNAL_SERVER_ERROR; a denial by fallback is a FORBIDDEN.
    fallbackError: () => new AppError(ErrorCode.FORBIDDEN, "You are not allowed to do this."),
    debug: false,
  });
  const allowed = new Set(Object.entries(ruleMap).filter(([, rule]) => rule === allow).map(([type]) => type));
  return middleware((schema) => {
    const generated = rules.generate(schema) as IMiddlewareTypeMap;
    return Object.fromEntries(Object.entries(generated).filter(([type]) => !allowed.has(type)));
  });
}
