import { connect, createServer, type Server, type Socket } from "node:net";

/*
 * A TCP proxy in front of a redis-server's unix socket, so a test can take the network away
 * from one provider while others keep talking to Redis directly: `down` drops every connection
 * and refuses new ones until `up`; `dropAfter` cuts a connection right after it forwards a
 * request containing a marker, before Redis's answer can come back (an ambiguous failure), and
 * `dropBefore` cuts it instead of forwarding the request.
 */
export class TestProxy {
  readonly #server: Server;
  readonly #target: string;
  readonly #pairs = new Set<[Socket, Socket]>();
  #down = false;
  #marker: string | undefined;
  #forward = true;
  #thenDown = false;
  /** How many requests `dropAfter` has cut. */
  dropped = 0;
  port = 0;

  private constructor(target: string) {
    this.#target = target;
    this.#server = createServer((client) => this.#accept(client));
  }

  static async start(unixSocket: string): Promise<TestProxy> {
    const proxy = new TestProxy(unixSocket);
    await new Promise<void>((resolve) => proxy.#server.listen(0, "127.0.0.1", resolve));
    proxy.port = (proxy.#server.address() as { port: number }).port;
    return proxy;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  #accept(client: Socket): void {
    if (this.#down) {
      client.destroy();
      return;
    }
    const upstream = connect(this.#target);
    const pair: [Socket, Socket] = [client, upstream];
    this.#pairs.add(pair);
    const end = () => {
      client.destroy();
      upstream.destroy();
      this.#pairs.delete(pair);
    };
    client.on("error", end).on("close", end);
    upstream.on("error", end).on("close", end);
    upstream.on("data", (chunk) => client.write(chunk));
    client.on("data", (chunk) => {
      const cut = this.#marker !== undefined && chunk.includes(this.#marker);
      if (!cut || this.#forward) upstream.write(chunk);
      if (cut) {
        this.#marker = undefined;
        this.dropped++;
        if (this.#thenDown) this.#down = true;
        // Redis runs the request (or never gets it); its answer never reaches the client.
        upstream.removeAllListeners("data");
        setTimeout(end, 50);
      }
    });
  }

  /**
   * Cut the next connection that sends `marker`, after sending it on. `thenDown`: refuse every
   * new connection from then on (until `up`), so the sender cannot retry.
   */
  dropAfter(marker: string, options: { readonly thenDown?: boolean } = {}): void {
    this.#marker = marker;
    this.#forward = true;
    this.#thenDown = options.thenDown === true;
  }

  /** Cut the next connection that sends `marker`, without sending it on. */
  dropBefore(marker: string, options: { readonly thenDown?: boolean } = {}): void {
    this.#marker = marker;
    this.#forward = false;
    this.#thenDown = options.thenDown === true;
  }

  down(): void {
    this.#down = true;
    for (const [client, upstream] of this.#pairs) {
      client.destroy();
      upstream.destroy();
    }
    this.#pairs.clear();
  }

  up(): void {
    this.#down = false;
  }

  async stop(): Promise<void> {
    this.down();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
