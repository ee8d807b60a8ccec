/**
 * The change feed end to end (`startApi` as `npm start` runs it: embedded PostgreSQL, the local
 * PDP in process), default policy, one reader and one writer:
 *
 * 1. catch-up: a device whose cursor lies 10,000 changes back pages through `noteChanges`
 *    (first: 250, with the note's id, title and version: what fits the cost limit) until `hasMore` is false: seconds, changes/s and
 *    PDP calls per page;
 * 2. scale: a `noteChanges` page of 100 at the head of a log of 10,000 changes, then of
 *    1,000,000 (990,000 rows added by SQL), measured the same way in the same run: p50 ratio
 *    (goal ≤ 1.3) and PDP calls per page (goal 1);
 * 3. write cost: createNote's transaction (the note, its facts) with and without the log's row,
 *    in alternating rounds on the same database: the ratio of their medians.
 *
 *   npm run bench -- change-feed      (about 2 minutes)
 */
import "reflect-metadata";
import { logNoteChange } from "../src/changes/change-log";
import { NoteRepository } from "../src/notes/note.repository";
import { recordFacts } from "../src/outbox/facts";
import { decisionCalls, median, ok, percentile, printGoals, runBench, startFullStack, startPostgres, type FullStack, type Post } from "./api-support";

const CATCH_UP = 10_000;
const SMALL_LOG = 10_000;
const LARGE_LOG = 1_000_000;
const PAGE = 100;
const PAGE_SAMPLES = 60;
const WRITE_ROUNDS = 6;
const WRITES_PER_ROUND = 300;

const LEAN = `query($after: String!, $first: Int) { noteChanges(after: $after, first: $first) { cursor hasMore changes { kind noteId version note { id title version } } } }`;
const HEAD = `{ noteChangesHead }`;

interface ChangePage {
  cursor: string;
  hasMore: boolean;
  changes: { kind: string; noteId: string }[];
}

const pageOf = async (post: Post, after: string, first: number) => (await ok(post, LEAN, { after, first })).noteChanges as ChangePage;
const headOf = async (post: Post) => (await ok(post, HEAD)).noteChangesHead as string;

/** `count` notes of `ownerId` and their CREATED rows, in one statement (what `count` createNote calls would log). */
async function logCreations(stack: FullStack, ownerId: string, count: number): Promise<void> {
  await stack.api.dataSource.query(
    `WITH created AS (
       INSERT INTO notes (title, body, owner_id, version) SELECT 'note ' || g, '', $1, 1 FROM generate_series(1, $2) g RETURNING id, owner_id
     )
     INSERT INTO note_changes (kind, note_id, owner_id, version) SELECT 'CREATED', id, owner_id, 1 FROM created`,
    [ownerId, count],
  );
}

async function main(): Promise<void> {
  const postgres = await startPostgres();
  const stack = await startFullStack(postgres.pg, postgres.dataDir, "change_feed");
  try {
    const readerToken = await stack.token("reader@example.com");
    const writerToken = await stack.token("writer@example.com");
    const reader = stack.client(readerToken);
    const writer = stack.client(writerToken);
    await ok(reader, `{ me { id } }`);
    const writerId = ((await ok(writer, `{ me { id } }`)).me as { id: string }).id;

    // 1. Catch-up of 10,000 changes.
    const behind = await headOf(reader);
    await logCreations(stack, writerId, CATCH_UP);
    const counting = await stack.pdp.start();
    const started = performance.now();
    let cursor = behind;
    let pages = 0;
    let received = 0;
    for (;;) {
      const page = await pageOf(reader, cursor, 250);
      pages += 1;
      received += page.changes.length;
      cursor = page.cursor;
      if (!page.hasMore) break;
    }
    const catchUpMs = performance.now() - started;
    const catchUpCalls = decisionCalls(await counting.stop());
    if (received !== CATCH_UP) throw new Error(`caught up ${received} of ${CATCH_UP} changes`);

    // 2. A page at the head of 10,000 and of 1,000,000 logged changes.
    const pageAtHead = async () => {
      // Measured on a settled table: autovacuum catching up on a bulk insert would be measured instead.
      await stack.api.dataSource.query(`VACUUM ANALYZE note_changes`);
      const from = await headOf(reader);
      await logCreations(stack, writerId, PAGE);
      const samples: number[] = [];
      const pdp = await stack.pdp.start();
      for (let i = 0; i < PAGE_SAMPLES; i++) {
        const t = performance.now();
        const page = await pageOf(reader, from, PAGE);
        samples.push(performance.now() - t);
        if (page.changes.length !== PAGE) throw new Error(`a page of ${page.changes.length}, not ${PAGE}`);
      }
      const calls = decisionCalls(await pdp.stop()) / PAGE_SAMPLES;
      return { p50: percentile(samples, 0.5), p99: percentile(samples, 0.99), calls };
    };
    const logged = async () => Number(((await stack.api.dataSource.query(`SELECT count(*)::int AS n FROM note_changes`)) as { n: number }[])[0]!.n);
    await logCreations(stack, writerId, Math.max(0, SMALL_LOG - PAGE - (await logged())));
    const small = { ...(await pageAtHead()), rows: await logged() };
    const seedStarted = performance.now();
    const [{ id: oneNote }] = (await stack.api.dataSource.query(`SELECT id FROM notes LIMIT 1`)) as { id: string }[];
    await stack.api.dataSource.query(
      `INSERT INTO note_changes (kind, note_id, owner_id, version) SELECT 'UPDATED', $1, $2, g FROM generate_series(1, $3) g`,
      [oneNote, writerId, LARGE_LOG - PAGE - (await logged())],
    );
    const seedS = (performance.now() - seedStarted) / 1000;
    const large = { ...(await pageAtHead()), rows: await logged() };

    // 3. createNote's transaction with and without the log's row, alternating.
    const notes = new NoteRepository(stack.api.dataSource);
    const write = async (withLog: boolean) => {
      const t = performance.now();
      for (let i = 0; i < WRITES_PER_ROUND; i++) {
        await stack.api.dataSource.transaction(async (m) => {
          const note = await notes.insert(m, { title: `w${i}`, body: "", ownerId: writerId, workspaceId: null });
          const factIds = await recordFacts(m, [{ kind: "note.created", noteId: note.id, ownerId: writerId, workspaceId: null }]);
          if (withLog) await logNoteChange(m, "CREATED", note, factIds);
        });
      }
      return (performance.now() - t) / WRITES_PER_ROUND;
    };
    const withLog: number[] = [];
    const withoutLog: number[] = [];
    await write(true);
    await write(false);
    for (let round = 0; round < WRITE_ROUNDS; round++) {
      if (round % 2 === 0) {
        withLog.push(await write(true));
        withoutLog.push(await write(false));
      } else {
        withoutLog.push(await write(false));
        withLog.push(await write(true));
      }
    }
    // And through the API, for scale: createNote over HTTP as shipped.
    const apiSamples: number[] = [];
    for (let i = 0; i < 200; i++) {
      const t = performance.now();
      await ok(writer, `mutation($t: String!) { createNote(input: { title: $t }) { id } }`, { t: `api ${i}` });
      apiSamples.push(performance.now() - t);
    }

    console.log(`Change feed: one replica, embedded local PDP (decisions by function call, the default), default policy, loopback\n`);
    console.log(`catch-up of ${CATCH_UP} changes: ${(catchUpMs / 1000).toFixed(2)} s, ${Math.round(received / (catchUpMs / 1000))} changes/s, ${pages} pages of ≤250, ${(catchUpCalls / pages).toFixed(2)} PDP calls per page`);
    console.log(`\nnoteChanges(first: ${PAGE}) at the head, lean selection, ${PAGE_SAMPLES} samples each:`);
    console.log(`  ${small.rows.toLocaleString("en")} logged changes: p50 ${small.p50.toFixed(2)} ms, p99 ${small.p99.toFixed(2)} ms, ${small.calls.toFixed(2)} PDP calls per page`);
    console.log(`  ${large.rows.toLocaleString("en")} logged changes: p50 ${large.p50.toFixed(2)} ms, p99 ${large.p99.toFixed(2)} ms, ${large.calls.toFixed(2)} PDP calls per page (log grown by SQL in ${seedS.toFixed(1)} s)`);
    const logged_ = median(withLog);
    const bare = median(withoutLog);
    console.log(`\ncreateNote's transaction (note + facts), ${WRITE_ROUNDS} alternating rounds of ${WRITES_PER_ROUND}: ${bare.toFixed(3)} ms without the log's row, ${logged_.toFixed(3)} ms with it`);
    console.log(`createNote over HTTP as shipped (200 sequential): p50 ${percentile(apiSamples, 0.5).toFixed(2)} ms, p99 ${percentile(apiSamples, 0.99).toFixed(2)} ms`);
    const ratio = large.p50 / small.p50;
    printGoals("goals", [
      { figure: `page at ${large.rows.toLocaleString("en")} vs ${small.rows.toLocaleString("en")} changes (p50)`, measured: `${ratio.toFixed(2)}×`, goal: "≤ 1.30×", met: ratio <= 1.3 },
      { figure: "PDP calls per page of 100", measured: `${small.calls.toFixed(2)} / ${large.calls.toFixed(2)}`, goal: "1", met: small.calls === 1 && large.calls === 1 },
      { figure: "createNote transaction, with the log / without", measured: `${(logged_ / bare).toFixed(2)}×`, goal: "reported", met: true },
    ]);
  } finally {
    await stack.api.stop();
    await postgres.stop();
  }
}

runBench(main, 15 * 60_000);
