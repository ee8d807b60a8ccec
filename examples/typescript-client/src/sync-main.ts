/**
 * Keeps a local copy of the user's notes in a JSON file (sync.ts), syncing every few seconds
 * until Ctrl-C. Stop it, change notes elsewhere, start it again: it catches up from its cursor.
 *
 *   npm start &    # then:
 *   npm run example:sync                                   # into ./notes-sync.json, every 5 s
 *   ONCE=1 npm run example:sync                            # one sync, then exit
 *   STORE=/tmp/bob.json EMAIL=bob@example.com INTERVAL_MS=1000 npm run example:sync
 *   SEND=id npm run example:sync                           # server with TRUSTED_DOCUMENTS
 */
import { setTimeout as sleep } from "node:timers/promises";
import { ApiError, createClient, signInWithDevIssuer, type Client } from "./client";
import { syncOnce } from "./sync";

const url = process.env.API_URL ?? "http://127.0.0.1:4000";
const email = process.env.EMAIL ?? "alice@example.com";
const send = process.env.SEND === "id" ? "id" : "text";
const storePath = process.env.STORE ?? "notes-sync.json";
const intervalMs = Number(process.env.INTERVAL_MS ?? 5000);
const once = process.env.ONCE === "1";

async function main() {
  const stop = new AbortController();
  process.once("SIGINT", () => stop.abort());
  const signIn = async () => createClient({ url, token: await signInWithDevIssuer(url, email), send });
  let client: Client | undefined;
  while (!stop.signal.aborted) {
    try {
      client ??= await signIn();
      const { store, fullSync, changes } = await syncOnce(client, storePath);
      const notes = Object.keys(store.notes).length;
      process.stdout.write(`${new Date().toISOString()} ${fullSync ? "full sync" : "caught up"}: ${changes} changes, ${notes} notes in ${storePath}\n`);
    } catch (error) {
      // Offline, or the API could not answer: the store keeps its last complete page; try again later.
      if (once) throw error;
      console.error(`${new Date().toISOString()} sync failed, retrying: ${error instanceof Error ? error.message : String(error)}`);
      // An expired session: sign in again on the next round.
      if (error instanceof ApiError && error.code === "UNAUTHENTICATED") client = undefined;
    }
    if (once) return;
    await sleep(intervalMs, undefined, { signal: stop.signal }).catch(() => undefined);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
