/**
 * The embedded defaults: for every service whose variables are unset, start a local stand-in
 * — real PostgreSQL from npm, the local Permit-compatible PDP with the policy applied, the dev
 * Hanko issuer. Application code never imports these; it only receives the URLs they serve.
 */
import { randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import path from "node:path";
import { usesEmbedded, type Config } from "../config";
import type { Logger } from "../common/logger";
import { startEmbeddedPostgres } from "../db/embedded-postgres";
import { startLocalPdp, type InProcessDecisions } from "@notes/local-pdp";
import { DevHankoIssuer } from "./hanko-issuer";

export interface PermitSettings {
  apiKey: string;
  pdpUrl: string;
  apiUrl: string;
}

export interface EmbeddedDefaults {
  databaseUrl: string;
  permit: PermitSettings;
  /** Set when tokens come from the dev issuer (its JWKS is served by the API itself). */
  devIssuer?: DevHankoIssuer;
  /** True when the PDP was started here and needs the policy applied. */
  permitIsLocal: boolean;
  /** The local PDP's decisions as function calls (set when it runs in this process). */
  localDecisions?: InProcessDecisions;
  /** CURSOR_SECRET, or a random one kept in DATA_DIR. */
  cursorSecret: string;
  stop(): Promise<void>;
}

/**
 * Where the admin CLI (`npm run permit`) finds the embedded PDP: `{ "apiKey", "url" }`,
 * readable by the owner only.
 */
export const localPermitFile = (dataDir: string) => path.join(dataDir, "permit-local.json");

/** Where local tools (`npm run seed`) find the API that runs on this DATA_DIR: `{ "url" }`. */
export const localApiFile = (dataDir: string) => path.join(dataDir, "api-local.json");

export async function recordLocalApi(dataDir: string, url: string): Promise<void> {
  await fs.writeFile(localApiFile(dataDir), JSON.stringify({ url }), { mode: 0o600 });
}

/** A random secret kept in DATA_DIR (owner-readable only), created on first use. */
async function dataDirSecret(dataDir: string, name: string, prefix = ""): Promise<string> {
  const file = path.join(dataDir, name);
  try {
    return (await fs.readFile(file, "utf8")).trim();
  } catch {
    const key = `${prefix}${randomBytes(32).toString("base64url")}`;
    // `wx`: when two processes share DATA_DIR, the first writer wins and the other reads its key.
    await fs.writeFile(file, key, { mode: 0o600, flag: "wx" }).catch(async (error: NodeJS.ErrnoException) => {
      if (error.code !== "EEXIST") throw error;
    });
    return (await fs.readFile(file, "utf8")).trim();
  }
}

export async function startEmbeddedDefaults(config: Config, logger: Logger): Promise<EmbeddedDefaults> {
  const needed = usesEmbedded.database(config) || usesEmbedded.hanko(config) || usesEmbedded.permit(config);
  if (config.nodeEnv === "production" && needed) throw new Error("Embedded defaults are refused when NODE_ENV=production.");
  await fs.mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  const stops: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch((error: unknown) => logger.warn({ err: error }, "stopping an embedded service failed"));
  };

  try {
    let databaseUrl = config.databaseUrl;
    if (usesEmbedded.database(config)) {
      const pgLog = logger.child({ component: "postgres" });
      const pg = await startEmbeddedPostgres({ dataDir: config.dataDir, onLog: (m: string) => pgLog.debug(m.trim()) });
      stops.push(() => pg.stop());
      const [existing] = await (async () => {
        const { Client } = await import("pg");
        const client = new Client({ connectionString: pg.adminUrl });
        await client.connect();
        try {
          return (await client.query(`SELECT 1 FROM pg_database WHERE datname = 'notes'`)).rows;
        } finally {
          await client.end();
        }
      })();
      if (!existing) await pg.createDatabase("notes");
      databaseUrl = pg.urlFor("notes");
      logger.info({ dataDir: path.join(config.dataDir, "pg") }, "embedded PostgreSQL started");
    }

    let permit: PermitSettings;
    let localDecisions: InProcessDecisions | undefined;
    const permitIsLocal = usesEmbedded.permit(config);
    if (permitIsLocal) {
      const apiKey = await dataDirSecret(config.dataDir, "localpdp.key", "local_");
      const pdp = await startLocalPdp({
        apiKey,
        host: "127.0.0.1",
        port: config.permit.localPdpPort,
        statePath: path.join(config.dataDir, "localpdp.json"),
        logger: logger.child({ component: "localpdp" }),
      });
      stops.push(() => pdp.close());
      await fs.writeFile(localPermitFile(config.dataDir), JSON.stringify({ apiKey, url: pdp.url }), { mode: 0o600 });
      permit = { apiKey, pdpUrl: pdp.url, apiUrl: pdp.url };
      localDecisions = pdp.inProcess;
      logger.info({ url: pdp.url }, "local Permit-compatible PDP started");
    } else {
      permit = { apiKey: config.permit.apiKey!, pdpUrl: config.permit.pdpUrl!, apiUrl: config.permit.apiUrl! };
    }

    const devIssuer = usesEmbedded.hanko(config)
      ? await DevHankoIssuer.load({ dataDir: config.dataDir, audience: config.hanko.audience, issuer: config.hanko.issuer })
      : undefined;

    const cursorSecret = config.cursorSecret ?? (await dataDirSecret(config.dataDir, "cursor.key"));
    return { databaseUrl: databaseUrl!, permit, permitIsLocal, ...(localDecisions ? { localDecisions } : {}), devIssuer, cursorSecret, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
