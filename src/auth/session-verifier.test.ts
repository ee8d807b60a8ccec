import { createServer } from "node:http";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { randomUUID } from "node:crypto";
import { SignJWT, base64url, decodeJwt, exportJWK, exportSPKI, generateKeyPair } from "jose";
import type { CryptoKey, JWK } from "jose";
import { AppError } from "../common/errors";
import { HankoUnavailableError, createSessionVerifier } from "./session-verifier";
import type { SessionVerifierOptions } from "./session-verifier";

const AUDIENCE = "notes-api";
const ISSUER = "https://hanko.example.test";
const KID = "rsa-1";

/** A local stand-in for Hanko: its JWKS and `POST /sessions/validate`, over real HTTP. */
class FakeHanko {
  jwksRequests = 0;
  readonly validateCalls = new Map<string, number>();
  readonly validateBodies: unknown[] = [];
  readonly revoked = new Set<string>();
  readonly broken = new Set<string>();
  private server!: Server;
  baseUrl = "";

  constructor(private readonly jwks: { keys: JWK[] }) {}

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.baseUrl = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  get jwksUrl(): URL {
    return new URL(`${this.baseUrl}/.well-known/jwks.json`);
  }

  validateCount(sessionId: string): number {
    return this.validateCalls.get(sessionId) ?? 0;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (req.method === "GET" && req.url === "/.well-known/jwks.json") {
      this.jwksRequests += 1;
      return send(200, this.jwks);
    }
    if (req.method === "POST" && req.url === "/sessions/validate") {
      let raw = "";
      for await (const chunk of req) raw += String(chunk);
      const body = JSON.parse(raw) as { session_token: string };
      this.validateBodies.push(body);
      const sessionId = decodeJwt(body.session_token).session_id as string;
      this.validateCalls.set(sessionId, this.validateCount(sessionId) + 1);
      if (this.broken.has(sessionId)) return send(500, { code: 500, message: "Internal Server Error" });
      return send(200, this.revoked.has(sessionId) ? { is_valid: false } : { is_valid: true, claims: { session_id: sessionId } });
    }
    send(404, { code: 404, message: "Not Found" });
  }
}

let rsa: { publicKey: CryptoKey; privateKey: CryptoKey };
let ec: { publicKey: CryptoKey; privateKey: CryptoKey };
let hanko: FakeHanko;

beforeAll(async () => {
  rsa = await generateKeyPair("RS256", { extractable: true });
  ec = await generateKeyPair("ES256", { extractable: true });
  const rsaJwk = { ...(await exportJWK(rsa.publicKey)), kid: KID, alg: "RS256", use: "sig" };
  // An EC key in the same JWKS: a token naming it must still be refused (RS256 is pinned).
  const ecJwk = { ...(await exportJWK(ec.publicKey)), kid: "ec-1", alg: "ES256", use: "sig" };
  hanko = new FakeHanko({ keys: [rsaJwk, ecJwk] });
  await hanko.start();
});

afterAll(async () => {
  await hanko.stop();
});

const nowSec = () => Math.floor(Date.now() / 1000);

function sessionClaims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const iat = nowSec();
  return {
    sub: randomUUID(),
    session_id: randomUUID(),
    aud: [AUDIENCE],
    iat,
    exp: iat + 3600,
    email: { address: "ada@example.com", is_primary: true, is_verified: true },
    ...overrides,
  };
}

function sign(claims: Record<string, unknown>, header: Record<string, unknown> = {}, key: CryptoKey = rsa.privateKey) {
  return new SignJWT(claims).setProtectedHeader({ alg: "RS256", kid: KID, typ: "JWT", ...header }).sign(key);
}

function verifier(options: Partial<SessionVerifierOptions> = {}) {
  return createSessionVerifier({ jwksUrl: hanko.jwksUrl, audience: AUDIENCE, ...options });
}

/** The `extensions.reason` of the UNAUTHENTICATED error the promise rejects with. */
async function reasonOf(promise: Promise<unknown>): Promise<unknown> {
  const error = await promise.then(
    () => new Error("expected a rejection"),
    (e: unknown) => e,
  );
  if (!(error instanceof AppError) || error.extensions.code !== "UNAUTHENTICATED") throw error;
  return error.extensions.reason;
}

describe("createSessionVerifier: local verification", () => {
  const v = () => shared;
  let shared: ReturnType<typeof verifier>;
  beforeAll(() => {
    shared = verifier();
  });

  it("accepts a Hanko-shaped session token and returns the principal", async () => {
    const claims = sessionClaims();
    await expect(v().verify(await sign(claims))).resolves.toEqual({
      userId: claims.sub,
      sessionId: claims.session_id,
      email: "ada@example.com",
      issuedAt: claims.iat,
      expiresAt: claims.exp,
    });
  });

  it("accepts a token without an email claim (users without email)", async () => {
    const claims = sessionClaims({ email: undefined });
    await expect(v().verify(await sign(claims))).resolves.toEqual({ userId: claims.sub, sessionId: claims.session_id, issuedAt: claims.iat, expiresAt: claims.exp });
  });

  it("normalises upper-case UUIDs to lower case", async () => {
    const sub = randomUUID();
    const principal = await v().verify(await sign(sessionClaims({ sub: sub.toUpperCase() })));
    expect(principal.userId).toBe(sub);
  });

  it("fetches the JWKS once per verifier, not per token", async () => {
    const fresh = verifier();
    const before = hanko.jwksRequests;
    for (let i = 0; i < 3; i += 1) await fresh.verify(await sign(sessionClaims()));
    expect(hanko.jwksRequests - before).toBe(1);
  });

  it("verifies a token's signature once, then takes it again for at most 60 s while it is unexpired", async () => {
    let now = Date.now();
    const clocked = verifier({ clock: () => now });
    const token = await sign(sessionClaims({ iat: Math.floor(now / 1000), exp: Math.floor(now / 1000) + 3600 }));
    const signatures = jest.spyOn(crypto.subtle, "verify");
    try {
      const first = await clocked.verify(token);
      const second = await clocked.verify(token);
      expect(second).toEqual(first);
      // Each caller gets its own object: nothing a request does to its principal reaches the next.
      expect(second).not.toBe(first);
      expect(signatures).toHaveBeenCalledTimes(1);
      // Another token is verified on its own.
      await clocked.verify(await sign(sessionClaims()));
      expect(signatures).toHaveBeenCalledTimes(2);
      now += 61_000;
      await clocked.verify(token);
      expect(signatures).toHaveBeenCalledTimes(3);
    } finally {
      signatures.mockRestore();
    }
  });

  it("refuses a token that verified earlier once it expires (exp + tolerance)", async () => {
    let now = Date.now();
    const clocked = verifier({ clock: () => now });
    const exp = Math.floor(now / 1000) + 20;
    const token = await sign(sessionClaims({ iat: exp - 3600, exp }));
    await expect(clocked.verify(token)).resolves.toBeDefined();
    now = (exp + 29) * 1000;
    await expect(clocked.verify(token)).resolves.toBeDefined();
    now = (exp + 31) * 1000;
    expect(await reasonOf(clocked.verify(token))).toBe("token_expired");
  });

  it("rejects an expired token", async () => {
    const iat = nowSec() - 7200;
    expect(await reasonOf(v().verify(await sign(sessionClaims({ iat, exp: nowSec() - 31 }))))).toBe("token_expired");
  });

  it("rejects a token whose nbf is beyond the tolerance", async () => {
    expect(await reasonOf(v().verify(await sign(sessionClaims({ nbf: nowSec() + 120 }))))).toBe("token_not_yet_valid");
  });

  it("rejects a token issued in the future beyond the tolerance", async () => {
    const iat = nowSec() + 120;
    expect(await reasonOf(v().verify(await sign(sessionClaims({ iat, exp: iat + 3600 }))))).toBe("token_not_yet_valid");
  });

  it("accepts clock skew within 30 s (exp just passed, iat and nbf slightly ahead)", async () => {
    const now = nowSec();
    await expect(v().verify(await sign(sessionClaims({ exp: now - 10 })))).resolves.toBeDefined();
    await expect(v().verify(await sign(sessionClaims({ iat: now + 20, nbf: now + 20 })))).resolves.toBeDefined();
  });

  it("honours a smaller configured tolerance and refuses one above 30 s", async () => {
    const strict = verifier({ clockToleranceSec: 0 });
    expect(await reasonOf(strict.verify(await sign(sessionClaims({ exp: nowSec() - 10 }))))).toBe("token_expired");
    expect(() => verifier({ clockToleranceSec: 31 })).toThrow(RangeError);
  });

  it("rejects a token for another audience", async () => {
    expect(await reasonOf(v().verify(await sign(sessionClaims({ aud: ["other-app"] }))))).toBe("bad_audience");
    expect(await reasonOf(v().verify(await sign(sessionClaims({ aud: undefined }))))).toBe("bad_audience");
  });

  it("checks the issuer only when configured", async () => {
    const withIssuer = verifier({ issuer: ISSUER });
    await expect(withIssuer.verify(await sign(sessionClaims({ iss: ISSUER })))).resolves.toBeDefined();
    expect(await reasonOf(withIssuer.verify(await sign(sessionClaims({ iss: "https://evil.example" }))))).toBe("bad_issuer");
    expect(await reasonOf(withIssuer.verify(await sign(sessionClaims())))).toBe("bad_issuer");
    // Hanko omits iss by default; an unconfigured verifier neither requires nor checks it.
    await expect(v().verify(await sign(sessionClaims({ iss: "anything" })))).resolves.toBeDefined();
  });

  it("rejects HS256 signed with the RSA public key (algorithm confusion)", async () => {
    const secret = new TextEncoder().encode(await exportSPKI(rsa.publicKey));
    const token = await new SignJWT(sessionClaims()).setProtectedHeader({ alg: "HS256", kid: KID, typ: "JWT" }).sign(secret);
    expect(await reasonOf(v().verify(token))).toBe("bad_algorithm");
  });

  it('rejects alg "none"', async () => {
    const header = base64url.encode(JSON.stringify({ alg: "none", typ: "JWT" }));
    const payload = base64url.encode(JSON.stringify(sessionClaims()));
    expect(await reasonOf(v().verify(`${header}.${payload}.`))).toBe("bad_algorithm");
  });

  it("rejects an ES256 token even though its key is in the JWKS", async () => {
    const token = await new SignJWT(sessionClaims())
      .setProtectedHeader({ alg: "ES256", kid: "ec-1", typ: "JWT" })
      .sign(ec.privateKey);
    expect(await reasonOf(v().verify(token))).toBe("bad_algorithm");
  });

  it("rejects an unknown kid", async () => {
    expect(await reasonOf(v().verify(await sign(sessionClaims(), { kid: "rotated-away" })))).toBe("unknown_key");
  });

  it("rejects a tampered payload", async () => {
    const [header, , signature] = (await sign(sessionClaims())).split(".");
    const forged = base64url.encode(JSON.stringify(sessionClaims({ sub: randomUUID() })));
    expect(await reasonOf(v().verify(`${header}.${forged}.${signature}`))).toBe("bad_signature");
  });

  it("rejects a token signed by another key under a known kid", async () => {
    const other = await generateKeyPair("RS256");
    expect(await reasonOf(v().verify(await sign(sessionClaims(), {}, other.privateKey)))).toBe("bad_signature");
  });

  it("rejects a Hanko webhook token signed with the session key", async () => {
    const iat = nowSec();
    const webhook = { sub: "hanko webhooks", aud: [AUDIENCE], iat, exp: iat + 300, evt: "user.create", data: { id: randomUUID() } };
    expect(await reasonOf(v().verify(await sign(webhook)))).toBe("not_a_session_token");
  });

  it("rejects a token without session_id, or with a non-UUID sub or session_id", async () => {
    expect(await reasonOf(v().verify(await sign(sessionClaims({ session_id: undefined }))))).toBe("not_a_session_token");
    expect(await reasonOf(v().verify(await sign(sessionClaims({ sub: "user-42" }))))).toBe("not_a_session_token");
    expect(await reasonOf(v().verify(await sign(sessionClaims({ session_id: "42" }))))).toBe("not_a_session_token");
  });

  it("rejects garbage", async () => {
    for (const garbage of ["", "garbage", "a.b.c", "eyJhbGciOiJSUzI1NiJ9.e30", "x".repeat(20_000)]) {
      expect(await reasonOf(v().verify(garbage))).toBe("malformed_token");
    }
    expect(await reasonOf(v().verify(await sign(sessionClaims({ exp: "tomorrow" }))))).toBe("malformed_token");
  });

  it("reports an unreachable or failing JWKS as an internal error, not the caller's fault", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const token = await sign(sessionClaims());

    const unreachable = createSessionVerifier({ jwksUrl: new URL(`http://127.0.0.1:${port}/jwks.json`), audience: AUDIENCE });
    const error = await unreachable.verify(token).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HankoUnavailableError);
    expect(error).not.toBeInstanceOf(AppError);

    const notFound = createSessionVerifier({ jwksUrl: new URL(`${hanko.baseUrl}/missing`), audience: AUDIENCE });
    await expect(notFound.verify(token)).rejects.toBeInstanceOf(HankoUnavailableError);
  });
});

describe("createSessionVerifier: remote session check", () => {
  let now: number;
  const clock = () => now;
  const remote = (cacheTtlMs?: number) =>
    verifier({ sessionCheck: { apiUrl: hanko.baseUrl, cacheTtlMs }, clock });
  const claimsAt = (overrides: Record<string, unknown> = {}) => {
    const iat = Math.floor(now / 1000);
    return sessionClaims({ iat, exp: iat + 3600, ...overrides });
  };

  beforeEach(() => {
    now = Date.now();
  });

  it("accepts a live session and sends the token to POST /sessions/validate", async () => {
    const claims = claimsAt();
    const token = await sign(claims);
    await expect(remote().verify(token)).resolves.toMatchObject({ sessionId: claims.session_id });
    expect(hanko.validateCount(claims.session_id as string)).toBe(1);
    expect(hanko.validateBodies).toContainEqual({ session_token: token });
  });

  it("rejects a revoked session", async () => {
    const claims = claimsAt();
    hanko.revoked.add(claims.session_id as string);
    expect(await reasonOf(remote().verify(await sign(claims)))).toBe("session_revoked");
  });

  it("caches the answer per session_id for the TTL", async () => {
    const v = remote(30_000);
    const claims = claimsAt();
    const sid = claims.session_id as string;
    const token = await sign(claims);
    await v.verify(token);
    await v.verify(token);
    await v.verify(await sign({ ...claims }));
    expect(hanko.validateCount(sid)).toBe(1);
    now += 31_000;
    await v.verify(token);
    expect(hanko.validateCount(sid)).toBe(2);
  });

  it("asks Hanko again with { fresh: true } even while a valid answer is cached, and sees a revocation", async () => {
    const v = remote(30_000);
    const claims = claimsAt();
    const sid = claims.session_id as string;
    const token = await sign(claims);
    await v.verify(token);
    hanko.revoked.add(sid);
    // Cached: the revocation is not seen without `fresh`.
    await expect(v.verify(token)).resolves.toMatchObject({ sessionId: sid });
    expect(await reasonOf(v.verify(token, { fresh: true }))).toBe("session_revoked");
    expect(hanko.validateCount(sid)).toBe(2);
  });

  it("caches a revocation too", async () => {
    const v = remote();
    const claims = claimsAt();
    hanko.revoked.add(claims.session_id as string);
    const token = await sign(claims);
    expect(await reasonOf(v.verify(token))).toBe("session_revoked");
    expect(await reasonOf(v.verify(token))).toBe("session_revoked");
    expect(hanko.validateCount(claims.session_id as string)).toBe(1);
  });

  it("never caches past the token's exp", async () => {
    const v = remote(60_000);
    const claims = claimsAt({ exp: Math.floor(now / 1000) + 5 });
    const token = await sign(claims);
    await v.verify(token);
    // 10 s later the token is past exp but inside the 30 s tolerance: Hanko is asked again.
    now += 10_000;
    await v.verify(token);
    expect(hanko.validateCount(claims.session_id as string)).toBe(2);
  });

  it("makes one call for concurrent verifications of the same session", async () => {
    const v = remote();
    const claims = claimsAt();
    const token = await sign(claims);
    await Promise.all(Array.from({ length: 5 }, () => v.verify(token)));
    expect(hanko.validateCount(claims.session_id as string)).toBe(1);
  });

  it("fails closed with an internal error when Hanko cannot answer", async () => {
    const claims = claimsAt();
    hanko.broken.add(claims.session_id as string);
    const error = await remote().verify(await sign(claims)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HankoUnavailableError);
  });

  it("does not ask Hanko about tokens that fail local verification", async () => {
    const claims = claimsAt({ aud: ["other-app"] });
    expect(await reasonOf(remote().verify(await sign(claims)))).toBe("bad_audience");
    expect(hanko.validateCount(claims.session_id as string)).toBe(0);
  });
});

describe("createSessionVerifier: webhook mode", () => {
  const webhookClaims = (overrides: Record<string, unknown> = {}) => {
    const iat = nowSec();
    return { sub: "hanko webhooks", aud: [AUDIENCE], iat, exp: iat + 300, evt: "user.delete", data: { id: randomUUID() }, ...overrides };
  };

  it("accepts a Hanko webhook token and returns its evt and data", async () => {
    const claims = webhookClaims();
    await expect(verifier().verifyWebhook(await sign(claims))).resolves.toEqual({ event: "user.delete", data: claims.data });
  });

  it("refuses a session token, and a webhook token is refused as a session", async () => {
    expect(await reasonOf(verifier().verifyWebhook(await sign(sessionClaims())))).toBe("not_a_webhook_token");
    expect(await reasonOf(verifier().verify(await sign(webhookClaims())))).toBe("not_a_session_token");
  });

  it("applies the same checks as sessions: expiry, audience, issuer, algorithm pinning", async () => {
    const past = nowSec() - 3600;
    expect(await reasonOf(verifier().verifyWebhook(await sign(webhookClaims({ iat: past, exp: past + 300 }))))).toBe("token_expired");
    expect(await reasonOf(verifier().verifyWebhook(await sign(webhookClaims({ aud: ["other"] }))))).toBe("bad_audience");
    expect(await reasonOf(verifier({ issuer: "https://hanko.example" }).verifyWebhook(await sign(webhookClaims())))).toBe("bad_issuer");
    expect(await reasonOf(verifier().verifyWebhook(await sign(webhookClaims({ sub: "someone else" }))))).toBe("not_a_webhook_token");
    expect(await reasonOf(verifier().verifyWebhook(await sign(webhookClaims({ data: "x" }))))).toBe("not_a_webhook_token");
    const { evt: _evt, ...noEvent } = webhookClaims();
    expect(await reasonOf(verifier().verifyWebhook(await sign(noEvent)))).toBe("not_a_webhook_token");
    const hs = await new SignJWT(webhookClaims()).setProtectedHeader({ alg: "HS256" }).sign(new TextEncoder().encode("x".repeat(32)));
    expect(await reasonOf(verifier().verifyWebhook(hs))).toBe("bad_algorithm");
  });
});
