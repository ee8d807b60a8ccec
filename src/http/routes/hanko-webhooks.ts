/**
 * `POST /webhooks/hanko`: Hanko's webhooks (hanko.md §2.2). The body is `{"token", "event"}`;
 * only the token counts: it is verified as a webhook token (same JWKS, audience and issuer as
 * sessions, `sub: "hanko webhooks"`), and its `evt` claim names the event (the body's `event`
 * is unsigned and ignored). The database change and the facts for the PDP are stored in one
 * transaction before the answer, the PDP is written by the outbox afterwards: the answer is fast
 * and a PDP outage loses nothing.
 *
 * Answers: 200 `{"handled": true|false}` (an unknown event is ignored with 200), 401 for a
 * token that does not verify as a webhook token, 400 for a body without a token.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { SessionVerifier } from "../../auth/session-verifier";
import { ErrorCode, isAppError } from "../../common/errors";
import type { HankoEvents } from "../../users/hanko-events";

export const HANKO_WEBHOOK_PATH = "/webhooks/hanko";

export interface HankoWebhookDeps {
  /** Read per request: with the embedded issuer it exists only once the port is known. */
  verifier: () => Pick<SessionVerifier, "verifyWebhook">;
  events: Pick<HankoEvents, "apply">;
}

export function registerHankoWebhooks(app: FastifyInstance, deps: HankoWebhookDeps): void {
  void app.register((scope: FastifyInstance, _options: unknown, done: (error?: Error) => void) => {
    scope.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
      const status = error.statusCode ?? 500;
      if (status >= 400 && status < 500) return reply.code(status).send({ error: { code: ErrorCode.BAD_USER_INPUT, message: error.message } });
      request.log.error({ err: error }, "hanko webhook failed");
      return reply.code(500).send({ error: { code: ErrorCode.INTERNAL_SERVER_ERROR, message: "Unexpected error." } });
    });

    scope.post(HANKO_WEBHOOK_PATH, { bodyLimit: 256 * 1024 }, async (request: FastifyRequest, reply: FastifyReply) => {
      const body: unknown = request.body;
      const token: unknown = typeof body === "object" && body !== null ? (body as { token?: unknown }).token : undefined;
      if (typeof token !== "string" || token.length === 0) {
        return reply.code(400).send({ error: { code: ErrorCode.BAD_USER_INPUT, message: 'Send a JSON body {"token": "<webhook token>", "event": "..."}.' } });
      }
      let verified: Awaited<ReturnType<SessionVerifier["verifyWebhook"]>>;
      try {
        verified = await deps.verifier().verifyWebhook(token);
      } catch (error) {
        if (isAppError(error) && error.code === ErrorCode.UNAUTHENTICATED) {
          request.log.warn({ reason: error.extensions.reason }, "hanko webhook refused");
          return reply.code(401).send({ error: { code: ErrorCode.UNAUTHENTICATED, message: error.message, reason: error.extensions.reason } });
        }
        throw error;
      }
      const outcome = await deps.events.apply(verified.event, verified.data);
      return reply.send({ handled: outcome.handled, event: verified.event, ...(outcome.handled ? { action: outcome.action } : { ignored: outcome.reason }) });
    });
    done();
  });
}
