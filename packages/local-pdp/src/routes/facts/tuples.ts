/** Relationship tuples: `/relationship_tuples` (GET, POST, DELETE with a body) and `/relationship_tuples/bulk`. */
import type { FastifyInstance } from "fastify";
import { noContent, type PdpContext } from "../../context";
import type { TupleRec } from "../../model";
import type { TupleInput } from "../../ops/inputs";
import { tupleKey } from "../../store";
import { Fields, paginate, Query } from "../../validate";
import { tupleView } from "../../views";
import { parseList, type Req } from "../request";

function parseTuple(f: Fields): TupleInput {
  return { subject: f.str("subject"), relation: f.str("relation"), object: f.str("object"), tenant: f.optStr("tenant") };
}

export function tupleRoutes(app: FastifyInstance, ctx: PdpContext): void {
  const { db, store } = ctx;
  let listed: { key: string; items: TupleRec[] } | undefined;
  app.get("/relationship_tuples", async (req: Req) => {
    const q = Query.of(req.query);
    const { page, perPage } = q.page();
    const f = {
      subject: q.str("subject"),
      relation: q.str("relation"),
      object: q.str("object"),
      tenant: q.str("tenant"),
      subjectType: q.str("subject_type"),
      objectType: q.str("object_type"),
    };
    const matches = (t: TupleRec) =>
      (!f.subject || t.subject === f.subject) &&
      (!f.relation || t.relation === f.relation) &&
      (!f.tenant || t.tenant === f.tenant) &&
      (!f.subjectType || t.subject.startsWith(`${f.subjectType}:`)) &&
      (!f.objectType || t.object.startsWith(`${f.objectType}:`));
    let tuples: TupleRec[];
    if (f.object) {
      tuples = [];
      for (const [relation, subjects] of store.tuplesByObject.get(f.object) ?? []) {
        for (const subject of subjects) {
          const t = store.tuples.get(tupleKey({ subject, relation, object: f.object as string }));
          if (t) tuples.push(t);
        }
      }
    } else if (f.subject) {
      tuples = [];
      for (const [relation, objects] of store.tuplesBySubject.get(f.subject) ?? []) {
        for (const object of objects) {
          const t = store.tuples.get(tupleKey({ subject: f.subject as string, relation, object }));
          if (t) tuples.push(t);
        }
      }
    } else {
      // Every page of a long listing: filtered once while the store does not change.
      const key = `${store.changes} ${store.tuples.size} ${JSON.stringify(f)}`;
      if (listed?.key !== key) {
        listed = { key, items: [...store.tuples.values()].filter(matches) };
      }
      return paginate(listed.items, page, perPage).map((t) => tupleView(store, t));
    }
    return paginate(tuples.filter(matches), page, perPage).map((t) => tupleView(store, t));
  });
  app.post("/relationship_tuples", async (req: Req) =>
    tupleView(store, await db.execute<TupleRec>({ t: "tuple.create", tuple: parseTuple(Fields.of(req.body)) })),
  );
  app.delete("/relationship_tuples", async (req: Req, reply) => {
    await db.execute({ t: "tuple.delete", tuple: parseTuple(Fields.of(req.body)) });
    return noContent(reply);
  });
  app.post("/relationship_tuples/bulk", async (req: Req) => {
    const f = Fields.of(req.body);
    return db.execute({ t: "tuple.bulkCreate", tuples: parseList(f.raw("operations"), ["body", "operations"], parseTuple) });
  });
  app.delete("/relationship_tuples/bulk", async (req: Req) => {
    const f = Fields.of(req.body);
    return db.execute({ t: "tuple.bulkDelete", tuples: parseList(f.raw("idents"), ["body", "idents"], parseTuple) });
  });
}
