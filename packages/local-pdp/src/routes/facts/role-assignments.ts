/** Role assignments: `/role_assignments` (GET, POST, DELETE with a body) and `/role_assignments/bulk`. */
import type { FastifyInstance } from "fastify";
import { noContent, type PdpContext } from "../../context";
import type { AssignmentRec } from "../../model";
import type { AssignmentInput } from "../../ops/inputs";
import { Fields, paginate, Query } from "../../validate";
import { assignmentView, detailedAssignmentView } from "../../views";
import { parseList, type Req } from "../request";

function parseAssignment(f: Fields): AssignmentInput {
  return { user: f.factKey("user"), role: f.str("role"), tenant: f.optStr("tenant"), resource_instance: f.optStr("resource_instance") };
}

export function roleAssignmentRoutes(app: FastifyInstance, ctx: PdpContext): void {
  const { db, store } = ctx;
  app.get("/role_assignments", async (req: Req) => {
    const q = Query.of(req.query);
    const { page, perPage } = q.page();
    const filter = { user: q.str("user"), role: q.str("role"), tenant: q.str("tenant"), instance: q.str("resource_instance") };
    const keys = filter.user
      ? store.assignmentsByUser.list(filter.user)
      : filter.instance
        ? store.assignmentsByInstance.list(filter.instance)
        : [...store.assignments.keys()];
    const matching = keys
      .map((k) => store.assignments.get(k))
      .filter((a): a is AssignmentRec => a !== undefined)
      .filter(
        (a) =>
          (!filter.role || a.role === filter.role) &&
          (!filter.tenant || a.tenant === filter.tenant) &&
          (!filter.instance || a.resource_instance === filter.instance),
      );
    const view = q.bool("detailed") ? detailedAssignmentView : assignmentView;
    const items = paginate(matching, page, perPage).map((a) => view(store, a));
    return q.bool("include_total_count")
      ? { data: items, total_count: matching.length, page_count: Math.max(1, Math.ceil(matching.length / perPage)) }
      : items;
  });
  app.post("/role_assignments", async (req: Req) =>
    assignmentView(store, await db.execute<AssignmentRec>({ t: "assignment.create", assignment: parseAssignment(Fields.of(req.body)) })),
  );
  app.delete("/role_assignments", async (req: Req, reply) => {
    await db.execute({ t: "assignment.delete", assignment: parseAssignment(Fields.of(req.body)) });
    return noContent(reply);
  });
  app.post("/role_assignments/bulk", async (req: Req) =>
    db.execute({ t: "assignment.bulkCreate", assignments: parseList(req.body, ["body"], parseAssignment) }),
  );
  app.delete("/role_assignments/bulk", async (req: Req) =>
    db.execute({ t: "assignment.bulkDelete", assignments: parseList(req.body, ["body"], parseAssignment) }),
  );
}
