/** Set rules: `/set_rules` (condition set rules live under facts in Permit's API). */
import type { FastifyInstance } from "fastify";
import { noContent, type PdpContext } from "../../context";
import type { SetRuleRec } from "../../model";
import type { SetRuleInput } from "../../ops/inputs";
import { normalizeSetRule } from "../../ops/schema/set-rules";
import { Fields, paginate, Query } from "../../validate";
import { setRuleView } from "../../views";
import type { Req } from "../request";

function parseSetRule(f: Fields): SetRuleInput {
  return {
    user_set: f.str("user_set"),
    permission: f.str("permission"),
    resource_set: f.str("resource_set"),
    is_role: f.optBool("is_role"),
    is_resource: f.optBool("is_resource"),
  };
}

export function setRuleRoutes(app: FastifyInstance, ctx: PdpContext): void {
  const { db, store } = ctx;
  app.get("/set_rules", async (req: Req) => {
    const q = Query.of(req.query);
    const { page, perPage } = q.page();
    const f = { userSet: q.str("user_set"), permission: q.str("permission"), resourceSet: q.str("resource_set") };
    const rules = [...store.setRules.values()].filter(
      (r) =>
        (!f.userSet || r.user_set === f.userSet) &&
        (!f.permission || r.permission === f.permission) &&
        (!f.resourceSet || r.resource_set === f.resourceSet),
    );
    return paginate(rules, page, perPage).map(setRuleView);
  });
  app.post("/set_rules", async (req: Req) => {
    const rule = await db.execute<SetRuleRec>({ t: "setrule.create", rule: parseSetRule(Fields.of(req.body)) });
    return [setRuleView(rule)];
  });
  app.delete("/set_rules", async (req: Req, reply) => {
    const input = parseSetRule(Fields.of(req.body));
    // Validated like a create, so a typo is a 404 rather than a silent no-op.
    normalizeSetRule(store, input);
    await db.execute({ t: "setrule.delete", rule: input });
    return noContent(reply);
  });
}
