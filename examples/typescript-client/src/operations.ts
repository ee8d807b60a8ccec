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
