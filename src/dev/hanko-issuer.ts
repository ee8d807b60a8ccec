/**
 * The dev Hanko issuer of the embedded default: it mints tokens shaped exactly like Hanko's
 * session tokens (RS256, header `kid`/`typ`, claims `sub`, `session_id`, array `aud`, `iat`, `exp`,
 * `email`, `iss` only when configured) and publishes a JWKS, so the application verifies them on
 * the very same path as real Hanko tokens. There is no passkey ceremony: whoever can reach the
 * dev routes can become any user, which is why it is refused in production.
 *
 * The signing key is persisted under the data directory so tokens survive restarts and the
 * `npm run token` CLI (a separate process) signs with the key the server publishes.
 */
import { createHash, randomUUID } from "node:crypto";
import { promises as fs } from "node:fs";
import path from "node:path";
import { SignJWT, calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK } from "jose";
import type { CryptoKey, JWK } from "jose";

/** Hanko's default `session.lifespan`. */
export const DEFAULT_TOKEN_TTL_SEC = 12 * 60 * 60;
/** Upper bound for dev tokens: long enough for any manual session, short enough to not be forever. */
export const MAX_TOKEN_TTL_SEC = 30 * 24 * 60 * 60;
const MAX_EMAIL_LENGTH = 254;
const KEY_FILE_VERSION = 1;
/**
 * UUIDv5 namespace for dev user IDs. Fixed forever: changing it would give every dev user a new
 * ID and orphan their notes and Permit role assignments.
 */
export const DEV_USER_NAMESPACE = "2b1c6a0e-5c3f-4e7b-9a41-8d2f0c7e6b35";

/** Bad input for the issuer (e.g. an invalid email); the dev routes answer it with 400. */
export class DevIssuerInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DevIssuerInputError";
  }
}

export interface DevHankoIssuerOptions {
  /** The application's data directory; the key lives in `${dataDir}/dev-hanko/signing-key.json`. */
  dataDir: string;
  /** Written as `aud: [audience]`, as Hanko does. */
  audience: string;
  /** Written as `iss` only when set, as Hanko does. */
  issuer?: string;
}

interface KeyFile {
  version: number;
  createdAt: string;
  privateJwk: JWK;
}

export class DevHankoIssuer {
  private constructor(
    private readonly privateKey: CryptoKey,
    private readonly publicJwk: JWK,
    readonly kid: string,
    readonly keyFile: string,
    private readonly audience: string,
    private readonly issuer: string | undefined,
  ) {}

  /**
   * Loads the signing key from the data directory, creating it on first use. Concurrent first
   * loads (server and CLI) agree on one key: the file is published with an exclusive link, so
   * the loser reads the winner's key instead of replacing it.
   */
  static async load(options: DevHankoIssuerOptions): Promise<DevHankoIssuer> {
    if (!options.audience) throw new TypeError("audience is required");
    const dir = path.join(options.dataDir, "dev-hanko");
    const file = path.join(dir, "signing-key.json");
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });

    let privateJwk = await readKeyFile(file);
    if (!privateJwk) {
      privateJwk = await createKeyFile(file);
    }
    const kid = privateJwk.kid as string;
    const privateKey = (await importJWK(privateJwk, "RS256")) as CryptoKey;
    const publicJwk: JWK = { kty: "RSA", n: privateJwk.n, e: privateJwk.e, kid, alg: "RS256", use: "sig" };
    return new DevHankoIssuer(privateKey, publicJwk, kid, file, options.audience, options.issuer);
  }

  /** The JWKS to publish: public members only. */
  jwks(): { keys: JWK[] } {
    return { keys: [{ ...this.publicJwk }] };
  }

  /** The Hanko user ID this issuer assigns to an email: stable, case-insensitive. */
  userIdFor(email: string): string {
    return uuidV5(normalizeEmail(email), DEV_USER_NAMESPACE);
  }

  /** A session token for the user with this email; each call opens a new `session_id`. */
  async issueSessionToken({ email, ttlSec = DEFAULT_TOKEN_TTL_SEC }: { email: string; ttlSec?: number }): Promise<string> {
    const address = normalizeEmail(email);
    if (!Number.isInteger(ttlSec) || ttlSec < 1 || ttlSec > MAX_TOKEN_TTL_SEC) {
      throw new DevIssuerInputError(`ttlSec must be a whole number between 1 and ${MAX_TOKEN_TTL_SEC}`);
    }
    const iat = Math.floor(Date.now() / 1000);
    const claims: Record<string, unknown> = {
      email: { address, is_primary: true, is_verified: true },
      session_id: randomUUID(),
    };
    const jwt = new SignJWT(claims)
      .setProtectedHeader({ alg: "RS256", kid: this.kid, typ: "JWT" })
      .setSubject(uuidV5(address, DEV_USER_NAMESPACE))
      .setAudience([this.audience])
      .setIssuedAt(iat)
      .setExpirationTime(iat + ttlSec);
    if (this.issuer !== undefined) jwt.setIssuer(this.issuer);
    return jwt.sign(this.privateKey);
  }

  /**
   * A webhook token shaped like Hanko's: `sub: "hanko webhooks"`, the session audience, `evt`
   * and `data` (for `user.*` events the admin User DTO, see {@link devUserDto}), 5 minutes.
   */
  async issueWebhookToken({ event, data, ttlSec = WEBHOOK_TOKEN_TTL_SEC }: { event: string; data: Record<string, unknown>; ttlSec?: number }): Promise<string> {
    if (typeof event !== "string" || !/^[a-z][a-z0-9_.]{0,99}$/.test(event)) throw new DevIssuerInputError("event must look like user.delete");
    if (typeof data !== "object" || data === null || Array.isArray(data)) throw new DevIssuerInputError("data must be an object");
    const iat = Math.floor(Date.now() / 1000);
    const jwt = new SignJWT({ evt: event, data })
      .setProtectedHeader({ alg: "RS256", kid: this.kid, typ: "JWT" })
      .setSubject("hanko webhooks")
      .setAudience([this.audience])
      .setIssuedAt(iat)
      .setExpirationTime(iat + ttlSec);
    if (this.issuer !== undefined) jwt.setIssuer(this.issuer);
    return jwt.sign(this.privateKey);
  }

  /** A webhook token about the dev user with this email; `primaryEmail` becomes their primary address in `data`. */
  issueUserWebhookToken({ event, email, primaryEmail }: { event: string; email: string; primaryEmail?: string }): Promise<string> {
    const id = this.userIdFor(email);
    return this.issueWebhookToken({ event, data: devUserDto(id, normalizeEmail(primaryEmail ?? email)) });
  }
}

/** Hanko's webhook token lifetime (`exp = iat + 5 min`). */
export const WEBHOOK_TOKEN_TTL_SEC = 5 * 60;

/** The admin User DTO Hanko puts in `data` of `user.*` webhooks, for a dev user (one primary email). */
export function devUserDto(id: string, email: string): Record<string, unknown> {
  const now = new Date().toISOString();
  return {
    id,
    emails: [{ id: randomUUID(), address: email, is_verified: true, is_primary: true, created_at: now, updated_at: now }],
    webauthn_credentials: [],
    identities: [],
    created_at: now,
    updated_at: now,
  };
}

/** Trims and lower-cases an email after a deliberately simple sanity check (no RFC 5322 parser). */
export function normalizeEmail(email: unknown): string {
  if (typeof email !== "string") throw new DevIssuerInputError("email must be a string");
  const value = email.trim().toLowerCase();
  if (value.length === 0) throw new DevIssuerInputError("email is required");
  if (value.length > MAX_EMAIL_LENGTH) throw new DevIssuerInputError(`email must be at most ${MAX_EMAIL_LENGTH} characters`);
  // One @, a non-empty local part without spaces or control characters, a dotted-or-not hostname.
  if (!/^[^\s@\p{Cc}]{1,64}@[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/u.test(value)) {
    throw new DevIssuerInputError("email must look like name@example.com");
  }
  return value;
}

/** RFC 9562 UUIDv5 (SHA-1 of namespace bytes + name bytes, version and variant bits set). */
export function uuidV5(name: string, namespace: string): string {
  const ns = Buffer.from(namespace.replace(/-/g, ""), "hex");
  if (ns.length !== 16) throw new TypeError("namespace must be a UUID");
  const bytes = createHash("sha1").update(ns).update(name, "utf8").digest().subarray(0, 16);
  bytes[6] = (bytes[6] & 0x0f) | 0x50;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = bytes.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

async function readKeyFile(file: string): Promise<JWK | undefined> {
  let raw: string;
  try {
    raw = await fs.readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  let parsed: Partial<KeyFile>;
  try {
    parsed = JSON.parse(raw) as Partial<KeyFile>;
  } catch {
    throw corrupt(file, "is not JSON");
  }
  const jwk = parsed.privateJwk;
  if (parsed.version !== KEY_FILE_VERSION || !jwk || jwk.kty !== "RSA" || !jwk.d || !jwk.n || !jwk.e || typeof jwk.kid !== "string") {
    // Never regenerate silently: a new key would invalidate every token already handed out.
    throw corrupt(file, "does not hold an RS256 private key");
  }
  // Tighten permissions if someone loosened them (the file is a private key).
  await fs.chmod(file, 0o600).catch(() => undefined);
  return jwk;
}

async function createKeyFile(file: string): Promise<JWK> {
  const { privateKey } = await generateKeyPair("RS256", { modulusLength: 2048, extractable: true });
  const jwk = await exportJWK(privateKey);
  // The RFC 7638 thumbprint: stable for the key, changes when the key does.
  jwk.kid = await calculateJwkThumbprint(jwk, "sha256");
  jwk.alg = "RS256";
  jwk.use = "sig";
  const content: KeyFile = { version: KEY_FILE_VERSION, createdAt: new Date().toISOString(), privateJwk: jwk };

  const tmp = `${file}.${process.pid}.${randomUUID()}.tmp`;
  const handle = await fs.open(tmp, "wx", 0o600);
  try {
    await handle.writeFile(`${JSON.stringify(content, null, 2)}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    // link() fails if the file exists, unlike rename(): the first writer wins, atomically.
    await fs.link(tmp, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    const winner = await readKeyFile(file);
    if (!winner) throw error;
    return winner;
  } finally {
    await fs.unlink(tmp).catch(() => undefined);
  }
  return jwk;
}

function corrupt(file: string, problem: string): Error {
  return new Error(`The dev Hanko signing key ${file} ${problem}; delete it to create a new key (existing dev tokens stop working).`);
}
