/** What route handlers share: the durable store, the decision function and the audit log. */
import type { FastifyReply } from "fastify";
import type { Database } from "./database";
import type { DecisionLog } from "./decision-log";
import type { Evaluator } from "./evaluator";
import { notFound } from "./errors";
import { SCOPE } from "./model";
import type { Store } from "./store";

export interface PdpContext {
  db: Database;
  store: Store;
  evaluator: Evaluator;
  decisions: DecisionLog;
}

/** Params of every facts/schema route: the project and environment the scope call returned. */
export interface ScopeParams {
  proj: string;
  env: string;
}

export function checkScope(params: ScopeParams): void {
  if (params.proj !== SCOPE.project_id) throw notFound(`project '${params.proj}'`);
  if (params.env !== SCOPE.environment_id) throw notFound(`environment '${params.env}'`);
}

export function noContent(reply: FastifyReply): FastifyReply {
  return reply.code(204).send();
}
