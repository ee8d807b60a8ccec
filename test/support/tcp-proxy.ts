/**
 * A loopback TCP proxy in front of a real server, switchable at run time to simulate an
 * outage: `forward` (pass through), `refuse` (close new connections at once) or `hang`
 * (accept and never answer).
 */
import net from "node:net";

export type ProxyMode = "forward" | "refuse" | "hang";

export interface TcpProxy {
  url: string;
  mode: ProxyMode;
  close(): Promise<void>;
}

export async function startTcpProxy(target: URL): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  const state: { mode: ProxyMode } = { mode: "forward" };
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
    client.pipe(upstream).pipe(client);
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
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
