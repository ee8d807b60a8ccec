/**
 * What a client does in a session: sign in, read who it is, create a note, list notes with what
 * it may do to each, update with optimistic concurrency, and delete. Each step's result is
 * returned, so the test can check it and `main.ts` can print it.
 */
import { ApiError, createClient, signInWithDevIssuer, type ClientOptions } from "./client";
import { CreateNoteMutation, DeleteNoteMutation, MeQuery, NotesQuery, UpdateNoteMutation } from "./operations";

export interface WalkthroughOptions {
  url: string;
  email: string;
  send?: ClientOptions["send"];
}

/** The code of the ApiError `promise` fails with (other failures are rethrown). */
export async function errorCode(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    if (error instanceof ApiError) return error.code;
    throw error;
  }
}

export async function walkthrough({ url, email, send }: WalkthroughOptions) {
  const token = await signInWithDevIssuer(url, email);
  const run = createClient({ url, token, send });

  const { me } = await run(MeQuery, {});
  const { createNote: created } = await run(CreateNoteMutation, { input: { title: "Hello", body: "first note" } });
  const { notes } = await run(NotesQuery, { first: 10 });
  const listed = notes.edges.map((edge) => edge.node);

  const { updateNote: updated } = await run(UpdateNoteMutation, {
    id: created.id,
    input: { body: "edited", expectedVersion: created.version },
  });
  // Sending the version read before the update again: someone else's write would look the same.
  const staleUpdate = await errorCode(run(UpdateNoteMutation, { id: created.id, input: { body: "lost", expectedVersion: created.version } }));

  const { deleteNote: deletedId } = await run(DeleteNoteMutation, { id: created.id });
  const anonymous = await errorCode(createClient({ url, send })(MeQuery, {}));

  return { me, created, listed, updated, staleUpdate, deletedId, anonymous };
}
