/**
 * The load client of the API benchmarks, in a process of its own (forked by api-support.ts
 * `startLoadClient`): so the CPU the benchmark's process spends is the API's (and its
 * in-process PDP's) alone. It runs sequential requests over one keep-alive connection, as many
 * as asked or until a time budget, checks every answer, and reports their count, time and
 * latencies.
 */
import http from "node:http";

export interface LoadCommand {
  id: number;
  url: string;
  token: string;
  query: string;
  variables?: Record<string, unknown>;
  n: number;
  budgetMs: number;
}

export interface LoadResult {
  id: number;
  n: number;
  ms: number;
  latencies: number[];
  error?: string;
}

const agents = new Map<string, http.Agent>();

function post(url: string, token: string, body: string): Promise<string> {
  const target = new URL(`${url}/graphql`);
  let agent = agents.get(url);
  if (!agent) agents.set(url, (agent = new http.Agent({ keepAlive: true, maxSockets: 1 })));
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: target.hostname, port: target.port, path: target.pathname, method: "POST", agent, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body), authorization: `Bearer ${token}` } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

async function run(cmd: LoadCommand): Promise<LoadResult> {
  const body = JSON.stringify({ query: cmd.query, variables: cmd.variables ?? {} });
  const latencies: number[] = [];
  const t0 = performance.now();
  while (latencies.length < cmd.n && performance.now() - t0 < cmd.budgetMs) {
    const s = performance.now();
    const text = await post(cmd.url, cmd.token, body);
    latencies.push(performance.now() - s);
    // A benchmark that measures errors measures nothing.
    if (!text.startsWith('{"data"') || text.includes('"errors"')) return { id: cmd.id, n: latencies.length, ms: performance.now() - t0, latencies, error: text.slice(0, 300) };
  }
  return { id: cmd.id, n: latencies.length, ms: performance.now() - t0, latencies };
}

process.on("message", (cmd: LoadCommand) => {
  run(cmd).then(
    (result) => process.send!(result),
    (error: unknown) => process.send!({ id: cmd.id, n: 0, ms: 0, latencies: [], error: String(error) }),
  );
});
