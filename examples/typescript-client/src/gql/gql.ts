/* eslint-disable */
import * as types from './graphql';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "\n  query Me {\n    me {\n      id\n      email\n      roles\n    }\n  }\n": typeof types.MeDocument,
    "\n  mutation CreateNote($input: CreateNoteInput!) {\n    createNote(input: $input) {\n      id\n      title\n      body\n      version\n    }\n  }\n": typeof types.CreateNoteDocument,
    "\n  query Notes($first: Int!, $after: String) {\n    notes(first: $first, after: $after) {\n      edges {\n        node {\n          id\n          title\n          version\n          viewerCan {\n            put\n            delete\n          }\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n": typeof types.NotesDocument,
    "\n  mutation UpdateNote($id: ID!, $input: UpdateNoteInput!) {\n    updateNote(id: $id, input: $input) {\n      id\n      title\n      body\n      version\n    }\n  }\n": typeof types.UpdateNoteDocument,
    "\n  mutation DeleteNote($id: ID!) {\n    deleteNote(id: $id)\n  }\n": typeof types.DeleteNoteDocument,
    "\n  subscription NoteEvents($workspaceId: ID) {\n    noteEvents(workspaceId: $workspaceId) {\n      kind\n      noteId\n      version\n      at\n      note {\n        id\n        title\n        body\n        version\n      }\n    }\n  }\n": typeof types.NoteEventsDocument,
    "\n  fragment StoredNote on Note {\n    id\n    title\n    body\n    version\n    updatedAt\n    workspace {\n      id\n    }\n  }\n": typeof types.StoredNoteFragmentDoc,
    "\n  query NoteChangesHead {\n    noteChangesHead\n  }\n": typeof types.NoteChangesHeadDocument,
    "\n  query NotesForSync($first: Int!, $after: String, $workspaceId: ID) {\n    notes(first: $first, after: $after, workspaceId: $workspaceId) {\n      edges {\n        node {\n          ...StoredNote\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n": typeof types.NotesForSyncDocument,
    "\n  query NoteForSync($id: ID!) {\n    note(id: $id) {\n      ...StoredNote\n    }\n  }\n": typeof types.NoteForSyncDocument,
    "\n  query NoteChanges($after: String!, $first: Int!) {\n    noteChanges(after: $after, first: $first) {\n      cursor\n      hasMore\n      changes {\n        kind\n        noteId\n        workspaceId\n        version\n        note {\n          ...StoredNote\n        }\n      }\n    }\n  }\n": typeof types.NoteChangesDocument,
};
const documents: Documents = {
    "\n  query Me {\n    me {\n      id\n      email\n      roles\n    }\n  }\n": types.MeDocument,
    "\n  mutation CreateNote($input: CreateNoteInput!) {\n    createNote(input: $input) {\n      id\n      title\n      body\n      version\n    }\n  }\n": types.CreateNoteDocument,
    "\n  query Notes($first: Int!, $after: String) {\n    notes(first: $first, after: $after) {\n      edges {\n        node {\n          id\n          title\n          version\n          viewerCan {\n            put\n            delete\n          }\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n": types.NotesDocument,
    "\n  mutation UpdateNote($id: ID!, $input: UpdateNoteInput!) {\n    updateNote(id: $id, input: $input) {\n      id\n      title\n      body\n      version\n    }\n  }\n": types.UpdateNoteDocument,
    "\n  mutation DeleteNote($id: ID!) {\n    deleteNote(id: $id)\n  }\n": types.DeleteNoteDocument,
    "\n  subscription NoteEvents($workspaceId: ID) {\n    noteEvents(workspaceId: $workspaceId) {\n      kind\n      noteId\n      version\n      at\n      note {\n        id\n        title\n        body\n        version\n      }\n    }\n  }\n": types.NoteEventsDocument,
    "\n  fragment StoredNote on Note {\n    id\n    title\n    body\n    version\n    updatedAt\n    workspace {\n      id\n    }\n  }\n": types.StoredNoteFragmentDoc,
    "\n  query NoteChangesHead {\n    noteChangesHead\n  }\n": types.NoteChangesHeadDocument,
    "\n  query NotesForSync($first: Int!, $after: String, $workspaceId: ID) {\n    notes(first: $first, after: $after, workspaceId: $workspaceId) {\n      edges {\n        node {\n          ...StoredNote\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n": types.NotesForSyncDocument,
    "\n  query NoteForSync($id: ID!) {\n    note(id: $id) {\n      ...StoredNote\n    }\n  }\n": types.NoteForSyncDocument,
    "\n  query NoteChanges($after: String!, $first: Int!) {\n    noteChanges(after: $after, first: $first) {\n      cursor\n      hasMore\n      changes {\n        kind\n        noteId\n        workspaceId\n        version\n        note {\n          ...StoredNote\n        }\n      }\n    }\n  }\n": types.NoteChangesDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Me {\n    me {\n      id\n      email\n      roles\n    }\n  }\n"): (typeof documents)["\n  query Me {\n    me {\n      id\n      email\n      roles\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CreateNote($input: CreateNoteInput!) {\n    createNote(input: $input) {\n      id\n      title\n      body\n      version\n    }\n  }\n"): (typeof documents)["\n  mutation CreateNote($input: CreateNoteInput!) {\n    createNote(input: $input) {\n      id\n      title\n      body\n      version\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Notes($first: Int!, $after: String) {\n    notes(first: $first, after: $after) {\n      edges {\n        node {\n          id\n          title\n          version\n          viewerCan {\n            put\n            delete\n          }\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n"): (typeof documents)["\n  query Notes($first: Int!, $after: String) {\n    notes(first: $first, after: $after) {\n      edges {\n        node {\n          id\n          title\n          version\n          viewerCan {\n            put\n            delete\n          }\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation UpdateNote($id: ID!, $input: UpdateNoteInput!) {\n    updateNote(id: $id, input: $input) {\n      id\n      title\n      body\n      version\n    }\n  }\n"): (typeof documents)["\n  mutation UpdateNote($id: ID!, $input: UpdateNoteInput!) {\n    updateNote(id: $id, input: $input) {\n      id\n      title\n      body\n      version\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation DeleteNote($id: ID!) {\n    deleteNote(id: $id)\n  }\n"): (typeof documents)["\n  mutation DeleteNote($id: ID!) {\n    deleteNote(id: $id)\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription NoteEvents($workspaceId: ID) {\n    noteEvents(workspaceId: $workspaceId) {\n      kind\n      noteId\n      version\n      at\n      note {\n        id\n        title\n        body\n        version\n      }\n    }\n  }\n"): (typeof documents)["\n  subscription NoteEvents($workspaceId: ID) {\n    noteEvents(workspaceId: $workspaceId) {\n      kind\n      noteId\n      version\n      at\n      note {\n        id\n        title\n        body\n        version\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment StoredNote on Note {\n    id\n    title\n    body\n    version\n    updatedAt\n    workspace {\n      id\n    }\n  }\n"): (typeof documents)["\n  fragment StoredNote on Note {\n    id\n    title\n    body\n    version\n    updatedAt\n    workspace {\n      id\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query NoteChangesHead {\n    noteChangesHead\n  }\n"): (typeof documents)["\n  query NoteChangesHead {\n    noteChangesHead\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query NotesForSync($first: Int!, $after: String, $workspaceId: ID) {\n    notes(first: $first, after: $after, workspaceId: $workspaceId) {\n      edges {\n        node {\n          ...StoredNote\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n"): (typeof documents)["\n  query NotesForSync($first: Int!, $after: String, $workspaceId: ID) {\n    notes(first: $first, after: $after, workspaceId: $workspaceId) {\n      edges {\n        node {\n          ...StoredNote\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query NoteForSync($id: ID!) {\n    note(id: $id) {\n      ...StoredNote\n    }\n  }\n"): (typeof documents)["\n  query NoteForSync($id: ID!) {\n    note(id: $id) {\n      ...StoredNote\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query NoteChanges($after: String!, $first: Int!) {\n    noteChanges(after: $after, first: $first) {\n      cursor\n      hasMore\n      changes {\n        kind\n        noteId\n        workspaceId\n        version\n        note {\n          ...StoredNote\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query NoteChanges($after: String!, $first: Int!) {\n    noteChanges(after: $after, first: $first) {\n      cursor\n      hasMore\n      changes {\n        kind\n        noteId\n        workspaceId\n        version\n        note {\n          ...StoredNote\n        }\n      }\n    }\n  }\n"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;