import DataLoader from "dataloader";
import type { GraphQLResolveInfo } from "graphql";
import pino from "pino";
import type { Principal } from "../auth/principal";
import type { Note } from "../notes/note.entity";
import type { ListedNote } from "../notes/note.repository";
import { Authorizer } from "./authorizer";
import type { AuthzContext } from "./context";
import { notesAccess } from "./notes";

const NO_SELECTION = { fieldNodes: [], fragments: {} } as unknown as GraphQLResolveInfo;

/** A request context whose note loader records the ids it had to read from the database. */
function context(decide: (key: string) => boolean) {
  const read: string[] = [];
  const stored = (id: string): Note => ({ ...listed(id), body: `stored body of ${id}` });
  const permit = { bulkCheck: async (checks: { resource: { key?: string } }[]) => checks.map((c) => decide(c.resource.key ?? "")) };
  const ctx: AuthzContext = {
    principal: { userId: "u1", sessionId: "s1" } as Principal,
    authorizer: new Authorizer({ permit: permit as never, user: { userId: "u1" }, tenant: "default", logger: pino({ level: "silent" }) }),
    loaders: {
      note: new DataLoader(async (ids: readonly string[]) => {
        read.push(...ids);
        return ids.map(stored);
      }),
      workspace: new DataLoader(async (ids: readonly string[]) => ids.map(() => null)),
    },
    listPlanner: { notes: async () => ({ kind: "all" }) },
  };
  return { ctx, read };
}

function listed(id: string): ListedNote {
  const at = new Date("2026-12-07T08:00:00Z");
  return { id, title: `title ${id}`, ownerId: "u1", workspaceId: null, version: 1, createdAt: at, updatedAt: at };
}

describe("notesAccess: what a page's readable notes leave in the note loader", () => {
  it("primes the loader with a readable note read whole, so note(id) needs no query", async () => {
    const { ctx, read } = context(() => true);
    const whole: Note = { ...listed("n1"), body: "the page's body" };
    const access = await notesAccess(ctx, NO_SELECTION);
    expect(await access.readable([whole], 1, () => false)).toEqual([true]);
    expect((await ctx.loaders.note.load("n1"))?.body).toBe("the page's body");
    expect(read).toEqual([]);
  });

  it("does not prime it with a note read without its body: note(id) reads the whole row", async () => {
    const { ctx, read } = context(() => true);
    const access = await notesAccess(ctx, NO_SELECTION);
    expect(await access.readable([listed("n1")], 1, () => false)).toEqual([true]);
    expect((await ctx.loaders.note.load("n1"))?.body).toBe("stored body of n1");
    expect(read).toEqual(["n1"]);
  });

  it("does not prime it with a note the caller may not read", async () => {
    const { ctx, read } = context((key) => key !== "n2");
    const access = await notesAccess(ctx, NO_SELECTION);
    expect(await access.readable([{ ...listed("n1"), body: "a" }, { ...listed("n2"), body: "b" }], 2, () => false)).toEqual([true, false]);
    await ctx.loaders.note.loadMany(["n1", "n2"]);
    expect(read).toEqual(["n2"]);
  });
});
