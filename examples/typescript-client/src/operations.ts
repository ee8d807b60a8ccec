/**
 * The operations this client sends. `npm run codegen` reads the `graphql()` calls below and writes
 * their types to ./gql, and every document's text to ../trusted-documents.json (the manifest a
 * server with TRUSTED_DOCUMENTS runs from). Add an operation here, run codegen, commit both.
 */
import { graphql } from "./gql";

export const MeQuery = graphql(`
  query Me {
    me {
      id
      email
      roles
    }
  }
`);

export const CreateNoteMutation = graphql(`
  mutation CreateNote($input: CreateNoteInput!) {
    createNote(input: $input) {
      id
      title
      body
      version
    }
  }
`);

export const NotesQuery = graphql(`
  query Notes($first: Int!, $after: String) {
    notes(first: $first, after: $after) {
      edges {
        node {
          id
          title
          version
          viewerCan {
            put
            delete
          }
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

export const UpdateNoteMutation = graphql(`
  mutation UpdateNote($id: ID!, $input: UpdateNoteInput!) {
    updateNote(id: $id, input: $input) {
      id
      title
      body
      version
    }
  }
`);

export const DeleteNoteMutation = graphql(`
  mutation DeleteNote($id: ID!) {
    deleteNote(id: $id)
  }
`);

export const NoteEventsSubscription = graphql(`
  subscription NoteEvents($workspaceId: ID) {
    noteEvents(workspaceId: $workspaceId) {
      kind
      noteId
      version
      at
      note {
        id
        title
        body
        version
      }
    }
  }
`);

// Offline-first sync (sync.ts): the note as the local store keeps it, and what a sync reads.

export const StoredNoteFragment = graphql(`
  fragment StoredNote on Note {
    id
    title
    body
    version
    updatedAt
    workspace {
      id
    }
  }
`);

export const NoteChangesHeadQuery = graphql(`
  query NoteChangesHead {
    noteChangesHead
  }
`);

export const NotesForSyncQuery = graphql(`
  query NotesForSync($first: Int!, $after: String, $workspaceId: ID) {
    notes(first: $first, after: $after, workspaceId: $workspaceId) {
      edges {
        node {
          ...StoredNote
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

export const NoteForSyncQuery = graphql(`
  query NoteForSync($id: ID!) {
    note(id: $id) {
      ...StoredNote
    }
  }
`);

export const NoteChangesQuery = graphql(`
  query NoteChanges($after: String!, $first: Int!) {
    noteChanges(after: $after, first: $first) {
      cursor
      hasMore
      changes {
        kind
        noteId
        workspaceId
        version
        note {
          ...StoredNote
        }
      }
    }
  }
`);
