/** Role derivations (Permit's implicit grants): `/resources/{r}/roles/{role}/implicit_grants[/conditions]`. */
import type { FastifyInstance } from "fastify";
import { noContent, type PdpContext } from "../../context";
import type { DerivationInput, WhenInput } from "../../ops/inputs";
import { Fields } from "../../validate";
import type { Req } from "../request";

export function parseWhen(f: Fields | undefined): WhenInput | undefined {
  if (!f) return undefined;
  return { no_direct_roles_on_object: f.optBool("no_direct_roles_on_object") };
}

export function parseDerivation(f: Fields): DerivationInput {
  return {
    role: f.str("role"),
    on_resource: f.str("on_resource"),
    linked_by_relation: f.str("linked_by_relation"),
    when: parseWhen(f.optFields("when")),
  };
}

export function derivationRoutes(app: FastifyInstance, ctx: PdpContext): void {
  const { db } = ctx;
  app.post("/resources/:res/roles/:role/implicit_grants", async (req: Req<{ res: string; role: string }>) => {
    const rule = parseDerivation(Fields.of(req.body));
    return db.execute({ t: "derivation.create", resource: req.params.res, role: req.params.role, rule });
  });
  app.delete("/resources/:res/roles/:role/implicit_grants", async (req: Req<{ res: string; role: string }>, reply) => {
    const rule = parseDerivation(Fields.of(req.body));
    await db.execute({ t: "derivation.delete", resource: req.params.res, role: req.params.role, rule });
    return noContent(reply);
  });
  app.put("/resources/:res/roles/:role/implicit_grants/conditions", async (req: Req<{ res: string; role: string }>) => {
    const when = parseWhen(Fields.of(req.body)) ?? {};
    return db.execute({ t: "derivation.conditions", resource: req.params.res, role: req.params.role, when });
  });
}
