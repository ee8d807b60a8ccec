/**
 * The resource descriptors sent to the PDP. Attributes always come from the stored entity
 * (loaded from the database), never from client input: a forged `owner` changes nothing.
 */
import type { Note } from "../notes/note.entity";
import type { Workspace } from "../workspaces/workspace.entity";
import type { AuthzResource } from "./authorizer";
import type { GraphQLResolveInfo } from "graphql";
import { requestedSubfields } from "../common/selection";
import { NoteAttribute, Resource, WorkspaceAction, WorkspaceAttribute } from "./policy";

/** One descriptor per note object: a page's list filter and its `viewerCan` ask about the same note many times. */
const noteResources = new WeakMap<object, AuthzResource>();

export function noteResource(note: Pick<Note, "id" | "ownerId" | "workspaceId">): AuthzResource {
  let resource = noteResources.get(note);
  if (!resource) {
    const attributes: Record<string, unknown> = { [NoteAttribute.owner]: note.ownerId };
    if (note.workspaceId) attributes[NoteAttribute.workspace] = note.workspaceId;
    noteResources.set(note, (resource = { type: Resource.notes, key: note.id, attributes }));
  }
  return resource;
}

/** A note about to be created: no key yet, owned by the caller. */
export function newNoteResource(ownerId: string): AuthzResource {
  return { type: Resource.notes, attributes: { [NoteAttribute.owner]: ownerId } };
}

export function workspaceResource(workspace: Pick<Workspace, "id" | "ownerId">): AuthzResource {
  return { type: Resource.workspaces, key: workspace.id, attributes: { [WorkspaceAttribute.owner]: workspace.ownerId } };
}

/** A workspace about to be created. */
export function newWorkspaceResource(): AuthzResource {
  return { type: Resource.workspaces };
}

/** The policy actions behind the `viewerCan` subfields a query selects below `path` (GraphQL `addNote` is `add_note`). */
export function workspaceViewerCanActions(info: GraphQLResolveInfo, path: string[] = ["viewerCan"]): string[] {
  return requestedSubfields(info, path).map((field) => (field === "addNote" ? WorkspaceAction.add_note : field));
}
