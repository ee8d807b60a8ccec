/**
 * A loopback TCP proxy in front of a real server, switchable at run time to simulate trouble
 * on the way to it: `forward` (pass through), `slow` (every chunk sent to the server waits
 * `delayMs` first, so every request is late by that much), `refuse` (close new connections at
 * once) or `hang` (accept and never answer).
 */
import net from "node:net";

export type ProxyMode = "forward" | "slow" | "refuse" | "hang";

export interface TcpProxy {
  url: string;
  mode: ProxyMode;
  /** The delay of `slow` mode (default 1000 ms). */
  delayMs: number;
  close(): Promise<void>;
}

export async function startTcpProxy(target: URL): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  const state: { mode: ProxyMode; delayMs: number } = { mode: "forward", delayMs: 1000 };
  const server = net.createServer((client) => {
    sockets.add(client);
    client.on("close", () => sockets.delete(client));
    client.on("error", () => undefined);
    if (state.mode === "refuse") return client.destroy();
    if (state.mode === "hang") return;
    const upstream = net.connect(Number(target.port), target.hostname);
    sockets.add(upstream);
    upstream.on("close", () => sockets.delete(upstream));
    upstream.on("error", () => client.destroy());
    upstream.pipe(client);
    if (state.mode === "slow") {
      // Equal delays keep the chunks in order.
      const delayMs = state.delayMs;
      client.on("data", (chunk) => setTimeout(() => upstream.writable && upstream.write(chunk), delayMs));
      client.on("end", () => setTimeout(() => upstream.end(), delayMs));
    } else {
      client.pipe(upstream);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get mode() {
      return state.mode;
    },
    set mode(mode: ProxyMode) {
      state.mode = mode;
      // Kept-alive connections would bypass the new mode.
      for (const socket of sockets) socket.destroy();
    },
    get delayMs() {
      return state.delayMs;
    },
    set delayMs(ms: number) {
      state.delayMs = ms;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
