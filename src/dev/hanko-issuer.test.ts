import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import Fastify from "fastify";
import type { FastifyInstance } from "fastify";
import { decodeJwt, decodeProtectedHeader } from "jose";
import { createSessionVerifier } from "../auth/session-verifier";
import { DevHankoIssuer, DevIssuerInputError, uuidV5 } from "./hanko-issuer";
import { DEV_JWKS_PATH, registerDevHankoRoutes } from "./hanko-routes";

const AUDIENCE = "notes-api";
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const tempDirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "dev-hanko-"));
  tempDirs.push(dir);
  return dir;
}

const apps: FastifyInstance[] = [];
/** Serves the issuer's routes on a free port, as the embedded server does. */
async function serve(issuer: DevHankoIssuer): Promise<{ app: FastifyInstance; baseUrl: string }> {
  const app = Fastify();
  registerDevHankoRoutes(app, issuer, { nodeEnv: "test" });
  apps.push(app);
  const baseUrl = await app.listen({ port: 0, host: "127.0.0.1" });
  return { app, baseUrl };
}

afterAll(async () => {
  await Promise.all(apps.map((app) => app.close()));
  await Promise.all(tempDirs.map((dir) => fs.rm(dir, { recursive: true, force: true })));
});

let dataDir: string;
let issuer: DevHankoIssuer;
beforeAll(async () => {
  dataDir = await tempDir();
  issuer = await DevHankoIssuer.load({ dataDir, audience: AUDIENCE });
});

describe("DevHankoIssuer key storage", () => {
  it("creates a private key file with mode 0600 on first load", async () => {
    const file = path.join(dataDir, "dev-hanko", "signing-key.json");
    expect(issuer.keyFile).toBe(file);
    const stat = await fs.stat(file);
    expect(stat.mode & 0o777).toBe(0o600);
    const content = JSON.parse(await fs.readFile(file, "utf8")) as { privateJwk: Record<string, unknown> };
    expect(content.privateJwk).toMatchObject({ kty: "RSA", kid: issuer.kid, alg: "RS256" });
    expect(content.privateJwk.d).toEqual(expect.any(String));
    // Written through a temp file: nothing else is left behind.
    expect(await fs.readdir(path.dirname(file))).toEqual(["signing-key.json"]);
  });

  it("reuses the key across loads: tokens from the first load verify after a second load", async () => {
    const token = await issuer.issueSessionToken({ email: "ada@example.com" });
    const reloaded = await DevHankoIssuer.load({ dataDir, audience: AUDIENCE });
    expect(reloaded.kid).toBe(issuer.kid);
    const { baseUrl } = await serve(reloaded);
    const verifier = createSessionVerifier({ jwksUrl: new URL(`${baseUrl}${DEV_JWKS_PATH}`), audience: AUDIENCE });
    await expect(verifier.verify(token)).resolves.toEqual({
      userId: issuer.userIdFor("ada@example.com"),
      sessionId: decodeJwt(token).session_id,
      email: "ada@example.com",
      issuedAt: decodeJwt(token).iat,
      expiresAt: decodeJwt(token).exp,
    });
  });

  it("creates a different key in a fresh directory, and one key under concurrent first loads", async () => {
    const dir = await tempDir();
    const [a, b, c] = await Promise.all([1, 2, 3].map(() => DevHankoIssuer.load({ dataDir: dir, audience: AUDIENCE })));
    expect(a.kid).not.toBe(issuer.kid);
    expect(new Set([a.kid, b.kid, c.kid]).size).toBe(1);
  });

  it("refuses a corrupt key file instead of silently replacing it", async () => {
    const dir = await tempDir();
    await fs.mkdir(path.join(dir, "dev-hanko"));
    await fs.writeFile(path.join(dir, "dev-hanko", "signing-key.json"), "{not json");
    await expect(DevHankoIssuer.load({ dataDir: dir, audience: AUDIENCE })).rejects.toThrow(/delete it/);
    expect(await fs.readFile(path.join(dir, "dev-hanko", "signing-key.json"), "utf8")).toBe("{not json");
  });

  it("publishes only public key members in the JWKS", () => {
    const { keys } = issuer.jwks();
    expect(keys).toHaveLength(1);
    expect(Object.keys(keys[0]).sort()).toEqual(["alg", "e", "kid", "kty", "n", "use"]);
    for (const secret of ["d", "p", "q", "dp", "dq", "qi", "oth", "k"]) expect(keys[0]).not.toHaveProperty(secret);
  });
});

describe("DevHankoIssuer tokens", () => {
  it("produces Hanko's header and claim shape", async () => {
    const token = await issuer.issueSessionToken({ email: "Ada@Example.com" });
    expect(decodeProtectedHeader(token)).toEqual({ alg: "RS256", kid: issuer.kid, typ: "JWT" });
    const claims = decodeJwt(token);
    expect(Object.keys(claims).sort()).toEqual(["aud", "email", "exp", "iat", "session_id", "sub"]);
    expect(claims).toMatchObject({
      sub: issuer.userIdFor("ada@example.com"),
      aud: [AUDIENCE],
      email: { address: "ada@example.com", is_primary: true, is_verified: true },
    });
    expect(claims.session_id).toMatch(UUID);
    expect((claims.exp as number) - (claims.iat as number)).toBe(12 * 3600);
    expect(Math.abs((claims.iat as number) - Date.now() / 1000)).toBeLessThan(5);
  });

  it("sets iss only when configured, and honours ttlSec", async () => {
    const withIss = await DevHankoIssuer.load({ dataDir, audience: AUDIENCE, issuer: "http://localhost:4000/dev/hanko" });
    const claims = decodeJwt(await withIss.issueSessionToken({ email: "a@b.c", ttlSec: 60 }));
    expect(claims.iss).toBe("http://localhost:4000/dev/hanko");
    expect((claims.exp as number) - (claims.iat as number)).toBe(60);
    await expect(withIss.issueSessionToken({ email: "a@b.c", ttlSec: 0 })).rejects.toBeInstanceOf(DevIssuerInputError);
  });

  it("derives a stable, case-insensitive UUIDv5 user id per email and a new session per token", async () => {
    const id = issuer.userIdFor("ada@example.com");
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(issuer.userIdFor(" ADA@example.COM ")).toBe(id);
    expect(issuer.userIdFor("bob@example.com")).not.toBe(id);
    const [t1, t2] = await Promise.all([1, 2].map(() => issuer.issueSessionToken({ email: "ada@example.com" })));
    expect(decodeJwt(t1).sub).toBe(decodeJwt(t2).sub);
    expect(decodeJwt(t1).session_id).not.toBe(decodeJwt(t2).session_id);
  });

  it("implements RFC 9562 UUIDv5", () => {
    // The RFC's own example: "www.example.com" in the DNS namespace.
    expect(uuidV5("www.example.com", "6ba7b810-9dad-11d1-80b4-00c04fd430c8")).toBe("2ed6657d-e927-568b-95e1-2665a8aea6a2");
  });

  it("rejects invalid emails with a typed error", async () => {
    for (const bad of ["", "   ", "no-at-sign", "a@", "@b.c", "a b@c.d", "a@b..c", "a@b@c.d", `${"x".repeat(250)}@b.co`]) {
      await expect(issuer.issueSessionToken({ email: bad })).rejects.toBeInstanceOf(DevIssuerInputError);
      expect(() => issuer.userIdFor(bad)).toThrow(DevIssuerInputError);
    }
  });
});

describe("dev Hanko routes", () => {
  let baseUrl: string;
  beforeAll(async () => {
    ({ baseUrl } = await serve(issuer));
  });

  const postToken = (body: string, contentType = "application/json") =>
    fetch(`${baseUrl}/dev/token`, { method: "POST", headers: { "content-type": contentType }, body });

  it("serves the JWKS", async () => {
    const response = await fetch(`${baseUrl}${DEV_JWKS_PATH}`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual(issuer.jwks());
  });

  it("POST /dev/token returns a token that verifies and its user id", async () => {
    const response = await postToken(JSON.stringify({ email: "grace@example.com" }));
    expect(response.status).toBe(200);
    const body = (await response.json()) as { token: string; userId: string };
    expect(body.userId).toBe(issuer.userIdFor("grace@example.com"));
    const verifier = createSessionVerifier({ jwksUrl: new URL(`${baseUrl}${DEV_JWKS_PATH}`), audience: AUDIENCE });
    await expect(verifier.verify(body.token)).resolves.toMatchObject({ userId: body.userId, email: "grace@example.com" });
  });

  it.each([
    ["a missing email", JSON.stringify({})],
    ["a non-string email", JSON.stringify({ email: 42 })],
    ["an invalid email", JSON.stringify({ email: "not-an-email" })],
    ["invalid JSON", "{"],
  ])("answers 400 BAD_USER_INPUT for %s", async (_case: string, body: string) => {
    const response = await postToken(body);
    expect(response.status).toBe(400);
    const json = (await response.json()) as { error: { code: string; message: string } };
    expect(json.error.code).toBe("BAD_USER_INPUT");
    expect(json.error.message).toEqual(expect.any(String));
  });

  it("refuses to register in production", () => {
    const app = Fastify();
    apps.push(app);
    expect(() => registerDevHankoRoutes(app, issuer, { nodeEnv: "production" })).toThrow(/production/);
  });
});
