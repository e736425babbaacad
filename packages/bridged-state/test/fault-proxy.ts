import { connect, createServer, type Server, type Socket } from "node:net";

/**
 * A TCP relay in front of a real bridge, for failures no healthy server produces: the bridge
 * applies a call and its answer is lost on the way back (the connection dies first). `hold()`
 * keeps what the bridge sends from reaching the client; `cut()` then drops every connection and
 * stops listening, as a bridge host that vanished.
 */
export class FaultProxy {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  #holding = false;
  readonly address: string;

  private constructor(server: Server, address: string) {
    this.#server = server;
    this.address = address;
  }

  static async start(target: string): Promise<FaultProxy> {
    const [host, port] = splitAddress(target);
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const bound = server.address();
    if (bound === null || typeof bound === "string") throw new Error("no port");
    const proxy = new FaultProxy(server, `127.0.0.1:${bound.port}`);
    server.on("connection", (client) => proxy.#relay(client, connect(port, host)));
    return proxy;
  }

  /** From now on the bridge's bytes (answers included) stop here. */
  hold(): void {
    this.#holding = true;
  }

  /** Drops every connection (what was held with them) and refuses new ones. */
  cut(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    if (!this.#server.listening) return Promise.resolve();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  #relay(client: Socket, upstream: Socket): void {
    for (const socket of [client, upstream]) {
      this.#sockets.add(socket);
      socket.on("error", () => {});
      socket.on("close", () => {
        this.#sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    client.on("data", (chunk: Buffer) => upstream.write(chunk));
    upstream.on("data", (chunk: Buffer) => {
      if (!this.#holding) client.write(chunk);
    });
  }
}

function splitAddress(address: string): [string, number] {
  const colon = address.lastIndexOf(":");
  return [address.slice(0, colon), Number(address.slice(colon + 1))];
}

/** A port nothing listens on (bound once, then released). */
export async function deadAddress(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  await new Promise((resolve) => server.close(resolve));
  return `127.0.0.1:${address.port}`;
}

/** A listener that accepts TCP connections and never says a word (a host that hangs). */
export async function silentServer(): Promise<{ address: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  return {
    address: `127.0.0.1:${address.port}`,
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
