/**
 * What a client does in a session: sign in, watch its notes live, read who it is, create a note,
 * list notes with what it may do to each, update with optimistic concurrency, and delete. Each
 * step's result is returned, so the test can check it and `main.ts` can print it.
 */
import { ApiError, createClient, createLiveClient, signInWithDevIssuer, type ClientOptions } from "./client";
import { CreateNoteMutation, DeleteNoteMutation, MeQuery, NoteEventsSubscription, NotesQuery, UpdateNoteMutation } from "./operations";

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
  // Live updates: every change to a note this user may read, as it is committed.
  const live = createLiveClient({ url, token, send });
  const events: { kind: string; noteId: string; version: number }[] = [];
  const liveErrors: string[] = [];
  // Who waits for which event ("UPDATED <id>"), and at most how long.
  const waiting = new Map<string, () => void>();
  const arrival = (kind: string, noteId: string) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 5000);
      waiting.set(`${kind} ${noteId}`, () => {
        clearTimeout(timer);
        resolve();
      });
    });
  const stopWatching = live.subscribe(
    NoteEventsSubscription,
    {},
    ({ noteEvents }) => {
      events.push({ kind: noteEvents.kind, noteId: noteEvents.noteId, version: noteEvents.version });
      waiting.get(`${noteEvents.kind} ${noteEvents.noteId}`)?.();
    },
    (error) => liveErrors.push(error.code),
  );

  const { me } = await run(MeQuery, {});
  const { createNote: created } = await run(CreateNoteMutation, { input: { title: "Hello", body: "first note" } });
  const { notes } = await run(NotesQuery, { first: 10 });
  const listed = notes.edges.map((edge) => edge.node);

  const edited = arrival("UPDATED", created.id);
  const { updateNote: updated } = await run(UpdateNoteMutation, {
    id: created.id,
    input: { body: "edited", expectedVersion: created.version },
  });
  // The edit arrives live. Waited for before the deletion: an update whose note is already gone
  // when the server reads it is not sent (the note is not readable), only its DELETED is.
  await edited;
  // Sending the version read before the update again: someone else's write would look the same.
  const staleUpdate = await errorCode(run(UpdateNoteMutation, { id: created.id, input: { body: "lost", expectedVersion: created.version } }));

  const deletion = arrival("DELETED", created.id);
  const { deleteNote: deletedId } = await run(DeleteNoteMutation, { id: created.id });
  const anonymous = await errorCode(createClient({ url, send })(MeQuery, {}));

  // The deletion's event, then the socket is closed.
  await deletion;
  stopWatching();
  await live.close();
  const liveEvents = events.filter((event) => event.noteId === created.id);

  return { me, created, listed, updated, staleUpdate, deletedId, anonymous, liveEvents, liveErrors };
}
