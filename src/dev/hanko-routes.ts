/**
 * HTTP face of the dev Hanko issuer: the JWKS the verifier reads (at the path shape Hanko uses,
 * under `/dev/hanko`) and a token endpoint standing in for Hanko's login flow. Anyone who can
 * reach `POST /dev/token` can act as any user, so this refuses to be registered in production;
 * the server additionally registers it only for the embedded default.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Config } from "../config";
import { DevHankoIssuer, DevIssuerInputError } from "./hanko-issuer";

export const DEV_JWKS_PATH = "/dev/hanko/.well-known/jwks.json";
export const DEV_TOKEN_PATH = "/dev/token";
export const DEV_WEBHOOK_TOKEN_PATH = "/dev/webhook-token";

export interface DevHankoRoutesOptions {
  /** `Config.nodeEnv`; "production" is refused. */
  nodeEnv: Config["nodeEnv"];
}

interface ErrorBody {
  error: { code: "BAD_USER_INPUT" | "INTERNAL_SERVER_ERROR"; message: string };
}

function badInput(reply: FastifyReply, message: string, status = 400): FastifyReply {
  const body: ErrorBody = { error: { code: "BAD_USER_INPUT", message } };
  return reply.code(status).type("application/json").send(body);
}

/**
 * Adds `GET /dev/hanko/.well-known/jwks.json` and `POST /dev/token` (`{"email"}` →
 * `{"token","userId"}`). The routes live in their own encapsulated scope so their error format
 * (`{error:{code,message}}`) does not leak into the rest of the server; they are mounted when
 * the app becomes ready.
 */
export function registerDevHankoRoutes(app: FastifyInstance, issuer: DevHankoIssuer, options: DevHankoRoutesOptions): void {
  if (options.nodeEnv === "production") {
    throw new Error("The dev Hanko routes mint tokens for any user and are refused when NODE_ENV=production.");
  }

  void app.register((scope: FastifyInstance, _options: unknown, done: (error?: Error) => void) => {
    scope.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
      const status = error.statusCode ?? 500;
      // Body parsing failures (bad JSON, wrong content type, too large) are the client's input.
      if (status >= 400 && status < 500) return badInput(reply, error.message, status);
      request.log.error({ err: error }, "dev token route failed");
      const body: ErrorBody = { error: { code: "INTERNAL_SERVER_ERROR", message: "Unexpected error." } };
      return reply.code(500).send(body);
    });

    scope.get(DEV_JWKS_PATH, async (_request: FastifyRequest, reply: FastifyReply) => {
      // Same caching as Hanko's JWKS endpoint.
      return reply.header("cache-control", "public, max-age=600").send(issuer.jwks());
    });

    scope.post(DEV_TOKEN_PATH, { bodyLimit: 4096 }, async (request: FastifyRequest, reply: FastifyReply) => {
      const body: unknown = request.body;
      const email: unknown = typeof body === "object" && body !== null ? (body as { email?: unknown }).email : undefined;
      if (typeof email !== "string") return badInput(reply, 'Send a JSON body {"email": "name@example.com"}.');
      try {
        const token = await issuer.issueSessionToken({ email });
        return reply.header("cache-control", "no-store").send({ token, userId: issuer.userIdFor(email) });
      } catch (error) {
        if (error instanceof DevIssuerInputError) return badInput(reply, error.message);
        throw error;
      }
    });
    // `{"event", "email", "primaryEmail"?}` → `{"token","userId"}`: what Hanko would POST to /webhooks/hanko.
    scope.post(DEV_WEBHOOK_TOKEN_PATH, { bodyLimit: 4096 }, async (request: FastifyRequest, reply: FastifyReply) => {
      const body = (typeof request.body === "object" && request.body !== null ? request.body : {}) as Record<string, unknown>;
      const { event, email, primaryEmail } = body;
      if (typeof event !== "string" || typeof email !== "string" || (primaryEmail !== undefined && typeof primaryEmail !== "string")) {
        return badInput(reply, 'Send a JSON body {"event": "user.delete", "email": "name@example.com"}.');
      }
      try {
        const token = await issuer.issueUserWebhookToken({ event, email, ...(primaryEmail ? { primaryEmail } : {}) });
        return reply.header("cache-control", "no-store").send({ token, userId: issuer.userIdFor(email) });
      } catch (error) {
        if (error instanceof DevIssuerInputError) return badInput(reply, error.message);
        throw error;
      }
    });
    done();
  });
}
