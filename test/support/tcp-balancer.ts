import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP load balancer on loopback in front of several relay nodes, as a deployment has one: each
 * new connection goes to the next backend in turn, and one that refuses the connection (a killed
 * node) is skipped for the next. A client that lost its node reconnects to the same address and
 * lands on a live one.
 */
export class TcpBalancer {
  readonly #sockets = new Set<Socket>();
  #next = 0;
  /** Backend port each accepted connection was sent to, in order (for assertions on placement). */
  readonly placed: number[] = [];

  private constructor(
    readonly server: Server,
    readonly port: number,
    readonly backends: readonly number[],
  ) {}

  static async start(backends: readonly number[]): Promise<TcpBalancer> {
    let balancer: TcpBalancer | undefined;
    const server = createServer((client) => balancer?.accept(client));
    const port = await new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        if (address === null || typeof address === 'string') return reject(new Error('no port'));
        resolve(address.port);
      });
    });
    balancer = new TcpBalancer(server, port, backends);
    return balancer;
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}/`;
  }

  accept(client: Socket): void {
    this.#track(client);
    client.on('error', () => client.destroy());
    client.pause();
    this.#dial(client, 0);
  }

  #dial(client: Socket, tried: number): void {
    if (tried >= this.backends.length || client.destroyed) return void client.destroy();
    const port = this.backends[this.#next++ % this.backends.length]!;
    const upstream = connect(port, '127.0.0.1');
    this.#track(upstream);
    let connected = false;
    upstream.on('error', () => {
      if (!connected) this.#dial(client, tried + 1);
    });
    upstream.once('connect', () => {
      connected = true;
      this.placed.push(port);
      upstream.on('close', () => client.destroy());
      client.on('close', () => upstream.destroy());
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    });
  }

  #track(socket: Socket): void {
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
