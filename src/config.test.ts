import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { ConfigError, loadConfig } from "./config";

const expectConfigError = (env: Record<string, string>, variable: string) => {
  let thrown: unknown;
  try {
    loadConfig(env);
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(ConfigError);
  expect((thrown as ConfigError).variable).toBe(variable);
  expect((thrown as ConfigError).message).toContain(variable);
};

const PERMIT = { PERMIT_API_KEY: "k", PERMIT_PDP_URL: "http://p", PERMIT_API_URL: "https://a" };
const SECRET = "0123456789abcdef0123456789abcdef";

describe("loadConfig", () => {
  it("selects every embedded default when nothing is set", () => {
    const config = loadConfig({});
    expect(config.port).toBe(4000);
    expect(config.databaseUrl).toBeUndefined();
    expect(config.hanko.apiUrl).toBeUndefined();
    expect(config.permit.apiKey).toBeUndefined();
    expect(config.permit.tenant).toBe("default");
    expect(config.hanko.audience).toBe("notes-api");
  });

  it("reads real services and strips trailing slashes from base URLs", () => {
    const config = loadConfig({
      DATABASE_URL: "postgres://u:p@db:5432/notes",
      HANKO_API_URL: "https://hanko.example.com/",
      HANKO_AUDIENCE: "notes",
      PERMIT_API_KEY: "permit_key_x",
      PERMIT_PDP_URL: "http://pdp:7000/",
      PERMIT_API_URL: "https://api.permit.io",
      PORT: "8080",
    });
    expect(config.hanko.apiUrl).toBe("https://hanko.example.com");
    expect(config.permit.pdpUrl).toBe("http://pdp:7000");
    expect(config.port).toBe(8080);
  });

  it.each([
    [{ PORT: "http" }, "PORT"],
    [{ PORT: "70000" }, "PORT"],
    [{ LOG_LEVEL: "loud" }, "LOG_LEVEL"],
    [{ NODE_ENV: "staging" }, "NODE_ENV"],
    [{ DATABASE_URL: "mysql://x" }, "DATABASE_URL"],
    [{ HANKO_API_URL: "not a url" }, "HANKO_API_URL"],
    [{ HANKO_API_URL: "ftp://hanko" }, "HANKO_API_URL"],
    [{ HANKO_SESSION_CHECK: "sometimes" }, "HANKO_SESSION_CHECK"],
    [{ HANKO_SESSION_CHECK: "remote" }, "HANKO_SESSION_CHECK"],
    [{ HANKO_PUBLIC_URL: "https://login.example.com" }, "HANKO_PUBLIC_URL"],
    [{ HANKO_API_URL: "https://h", HANKO_PUBLIC_URL: "login.example.com" }, "HANKO_PUBLIC_URL"],
    [{ EXPLORER: "yes" }, "EXPLORER"],
    [{ PERMIT_TIMEOUT_MS: "5" }, "PERMIT_TIMEOUT_MS"],
    [{ PERMIT_API_KEY: "k" }, "PERMIT_PDP_URL"],
    [{ CORS_ORIGINS: "not an origin" }, "CORS_ORIGINS"],
    [{ CORS_ORIGINS: "https://app.example.com/path" }, "CORS_ORIGINS"],
    [{ NODE_ENV: "production" }, "DATABASE_URL"],
    [{ NODE_ENV: "production", DATABASE_URL: "postgres://db/x" }, "HANKO_API_URL"],
    [{ NODE_ENV: "production", DATABASE_URL: "postgres://db/x", HANKO_API_URL: "https://h" }, "PERMIT_API_KEY"],
    [{ ...PERMIT, NODE_ENV: "production", DATABASE_URL: "postgres://db/x", HANKO_API_URL: "https://h" }, "CURSOR_SECRET"],
    [{ CURSOR_SECRET: "too-short" }, "CURSOR_SECRET"],
    [{ OUTBOX_WAIT_MS: "-1" }, "OUTBOX_WAIT_MS"],
  ])("refuses %j naming %s", (env, variable) => {
    expectConfigError(env, variable);
  });

  it("reads the operations settings, with their defaults", () => {
    expect(loadConfig({}).ops).toEqual({
      rateLimitPerMinute: 1200,
      rateLimitAnonPerMinute: 120,
      breakerFailures: 5,
      breakerCooldownMs: 5000,
      databaseConnectTimeoutMs: 5000,
      databaseQueryTimeoutMs: 30000,
      shutdownDrainMs: 5000,
    });
    const ops = loadConfig({ RATE_LIMIT_PER_MINUTE: "0", RATE_LIMIT_ANON_PER_MINUTE: "30", PDP_BREAKER_FAILURES: "3" }).ops;
    expect([ops.rateLimitPerMinute, ops.rateLimitAnonPerMinute, ops.breakerFailures]).toEqual([0, 30, 3]);
    expectConfigError({ RATE_LIMIT_PER_MINUTE: "-1" }, "RATE_LIMIT_PER_MINUTE");
    expectConfigError({ PDP_BREAKER_FAILURES: "0" }, "PDP_BREAKER_FAILURES");
  });

  it("reads CORS origins as a list", () => {
    expect(loadConfig({}).corsOrigins).toEqual([]);
    expect(loadConfig({ CORS_ORIGINS: "https://a.example.com, http://localhost:3000" }).corsOrigins).toEqual([
      "https://a.example.com",
      "http://localhost:3000",
    ]);
  });

  it("reads TRUST_PROXY as no proxy, a hop count or a list of addresses and ranges", () => {
    expect(loadConfig({}).trustProxy).toBe(false);
    expect(loadConfig({ TRUST_PROXY: "1" }).trustProxy).toBe(1);
    expect(loadConfig({ TRUST_PROXY: "10.0.0.0/8, 127.0.0.1,fd00::/8,::1" }).trustProxy).toEqual(["10.0.0.0/8", "127.0.0.1", "fd00::/8", "::1"]);
    for (const bad of ["0", "11", "true", "10.0.0.0/33", "::/129", "10.0.0/8", "proxy.internal", "10.0.0.0/8,", "1.2.3.4/8/9"]) {
      expect(() => loadConfig({ TRUST_PROXY: bad })).toThrow(/TRUST_PROXY must be/);
    }
    expect(() => loadConfig({ TRUST_PROXY: "10.0.0.0/8,nope" })).toThrow(/a hop count \(e\.g\. 1\) or a comma-separated list[^]*\(got "nope"\)/);
  });

  it("takes the browser's Hanko URL from HANKO_PUBLIC_URL, else HANKO_API_URL", () => {
    expect(loadConfig({}).hanko.publicUrl).toBeUndefined();
    expect(loadConfig({ HANKO_API_URL: "http://hanko:8000" }).hanko.publicUrl).toBe("http://hanko:8000");
    expect(loadConfig({ HANKO_API_URL: "http://hanko:8000", HANKO_PUBLIC_URL: "https://login.example.com/" }).hanko.publicUrl).toBe(
      "https://login.example.com",
    );
  });

  it("answers x-authz-explain outside production only", () => {
    const production = { ...PERMIT, NODE_ENV: "production", DATABASE_URL: "postgres://db/x", HANKO_API_URL: "https://h", CURSOR_SECRET: SECRET };
    expect(loadConfig(production).authzExplainHeader).toBe(false);
    expect(loadConfig({ NODE_ENV: "development" }).authzExplainHeader).toBe(true);
    expect(loadConfig({ NODE_ENV: "test" }).authzExplainHeader).toBe(true);
  });

  it("serves the explorer by default outside production only, and EXPLORER overrides", () => {
    const production = { ...PERMIT, NODE_ENV: "production", DATABASE_URL: "postgres://db/x", HANKO_API_URL: "https://h", CURSOR_SECRET: SECRET };
    expect(loadConfig({}).explorer).toBe(true);
    expect(loadConfig({ EXPLORER: "off" }).explorer).toBe(false);
    expect(loadConfig(production).explorer).toBe(false);
    expect(loadConfig({ ...production, EXPLORER: "on" }).explorer).toBe(true);
  });

  it("takes CURSOR_SECRET and never echoes it", () => {
    expect(loadConfig({ CURSOR_SECRET: SECRET }).cursorSecret).toBe(SECRET);
    expect(loadConfig({}).cursorSecret).toBeUndefined();
    expect(() => loadConfig({ CURSOR_SECRET: "short-secret-value" })).not.toThrow(/short-secret-value/);
  });

  it("never echoes a database URL, which carries a password", () => {
    expect(() => loadConfig({ DATABASE_URL: "mysql://user:s3cret@db/x" })).toThrow(/DATABASE_URL must be a postgres/);
    expect(() => loadConfig({ DATABASE_URL: "mysql://user:s3cret@db/x" })).not.toThrow(/s3cret/);
  });

  describe("TRUSTED_DOCUMENTS", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "notes-api-config-"));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");
    const manifest = (name: string, content: string) => {
      const file = path.join(dir, name);
      writeFileSync(file, content);
      return file;
    };
    const me = "query Me { me { id } }";

    it("loads a manifest of sha256 hashes to the exact texts, and is off when unset", () => {
      const file = manifest("good.json", JSON.stringify({ [sha256(me)]: me }));
      expect(loadConfig({ TRUSTED_DOCUMENTS: file }).trustedDocuments).toEqual({ path: file, byHash: new Map([[sha256(me), me]]) });
      expect(loadConfig({}).trustedDocuments).toBeUndefined();
    });

    it.each([
      ["a missing file", () => path.join(dir, "missing.json")],
      ["text that is not JSON", () => manifest("text.json", "not json")],
      ["an array", () => manifest("array.json", JSON.stringify([me]))],
      ["an empty object", () => manifest("empty.json", "{}")],
      ["a key that is not 64 hex digits", () => manifest("key.json", JSON.stringify({ [`sha256:${sha256(me)}`]: me }))],
      ["an upper-case key", () => manifest("upper.json", JSON.stringify({ [sha256(me).toUpperCase()]: me }))],
      ["a value that is not a string", () => manifest("value.json", JSON.stringify({ [sha256(me)]: { query: me } }))],
      ["a text whose hash differs from its key", () => manifest("edited.json", JSON.stringify({ [sha256(me)]: `${me} ` }))],
    ])("refuses %s, naming the variable", (_what, file) => {
      expectConfigError({ TRUSTED_DOCUMENTS: file() }, "TRUSTED_DOCUMENTS");
    });
  });
});
