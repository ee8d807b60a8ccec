/**
 * An HTTP relay in front of a real server (the local PDP's REST side, where facts are written)
 * that answers some requests itself, as Permit does when it refuses a write: `answer` picks the
 * requests and the status; every other request is forwarded unchanged. Unlike the TCP proxy it
 * reads each request, so it can refuse one workspace's facts and let everything else through.
 */
import { createServer, request as forward, type IncomingMessage } from "node:http";
import type { AddressInfo, Socket } from "node:net";

export interface RelayedRequest {
  method: string;
  url: string;
  body: string;
}

export interface HttpRelay {
  url: string;
  /** The status to answer a request with instead of forwarding it; undefined forwards it. */
  answer: (request: RelayedRequest) => number | undefined;
  /** Requests answered by `answer`, oldest first. */
  answered: RelayedRequest[];
  /** Requests forwarded, oldest first. */
  forwarded: RelayedRequest[];
  close(): Promise<void>;
}

async function bodyOf(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export async function startHttpRelay(target: URL): Promise<HttpRelay> {
  const sockets = new Set<Socket>();
  const relay: Omit<HttpRelay, "url" | "close"> = { answer: () => undefined, answered: [], forwarded: [] };
  const server = createServer((req, res) => {
    void (async () => {
      const body = await bodyOf(req);
      const seen: RelayedRequest = { method: req.method ?? "GET", url: req.url ?? "/", body: body.toString("utf8") };
      const status = relay.answer(seen);
      if (status !== undefined) {
        relay.answered.push(seen);
        // The shape of Permit's error answers: the SDK reports `message`.
        res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify({ error_code: "REFUSED_BY_RELAY", message: `refused by the relay (${status})` }));
        return;
      }
      relay.forwarded.push(seen);
      const upstream = forward(
        { host: target.hostname, port: Number(target.port), method: req.method, path: req.url, headers: { ...req.headers, host: target.host } },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on("error", () => res.destroy());
      upstream.end(body);
    })().catch(() => res.destroy());
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(relay, {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  });
}
