// The public port. The supervisor accepts every connection itself (paused, so no byte is read) and hands
// it to one worker of the serving generation over IPC, round-robin, as Node's cluster module does. Owning
// the hand-off is what lets a new generation be proven healthy on private ports first and then receive
// traffic in one step: switching generations is replacing the rotation.
import net from 'node:net';
import type { Worker } from './worker';

/** Connections that arrive while no worker is ready (a first start, a crash loop) wait this long. */
const WAIT_MS = 30_000;
const MAX_WAITING = 4096;

export class Dispatcher {
  private server: net.Server | null = null;
  private bound: { host: string; port: number } | null = null;
  private rotation: Worker[] = [];
  private next = 0;
  private readonly waiting = new Map<net.Socket, NodeJS.Timeout>();

  constructor(private readonly log: (line: string) => void) {}

  /** Listens on host:port, or moves there from another address (new server first, old one closed after). */
  async listen(host: string, port: number): Promise<void> {
    if (this.bound?.host === host && this.bound.port === port) return;
    // noDelay as http.createServer sets it: the handed-off sockets keep the option, and the app never sees
    // its own accept.
    const server = net.createServer({ pauseOnConnect: true, noDelay: true }, (socket) => this.route(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port, backlog: 1024 }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => this.log(`supervisor: listener error: ${err.message}`));
    const old = this.server;
    this.server = server;
    this.bound = { host, port };
    old?.close();
  }

  get address(): { host: string; port: number } | null {
    return this.bound;
  }

  /** The workers that receive new connections from now on. */
  setRotation(workers: Worker[]): void {
    this.rotation = [...workers];
    this.flush();
  }

  add(worker: Worker): void {
    if (!this.rotation.includes(worker)) this.rotation.push(worker);
    this.flush();
  }

  remove(worker: Worker): void {
    this.rotation = this.rotation.filter((w) => w !== worker);
  }

  get size(): number {
    return this.rotation.length;
  }

  close(): Promise<void> {
    for (const [socket, timer] of this.waiting) {
      clearTimeout(timer);
      socket.destroy();
    }
    this.waiting.clear();
    const server = this.server;
    this.server = null;
    this.bound = null;
    return new Promise((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }

  private pick(): Worker | null {
    while (this.rotation.length > 0) {
      const w = this.rotation[this.next++ % this.rotation.length] as Worker;
      if (!w.isDead() && w.child.connected) return w;
      this.remove(w);
    }
    return null;
  }

  private route(socket: net.Socket): void {
    socket.on('error', () => {});
    const w = this.pick();
    if (w) {
      this.handOff(w, socket);
      return;
    }
    if (this.waiting.size >= MAX_WAITING) {
      socket.destroy();
      return;
    }
    const timer = setTimeout(() => {
      this.waiting.delete(socket);
      socket.destroy();
    }, WAIT_MS);
    timer.unref();
    this.waiting.set(socket, timer);
  }

  private handOff(w: Worker, socket: net.Socket): void {
    w.child.send({ ferry: 'conn' }, socket, (err) => {
      if (!err) return;
      // The worker went away between pick and send: the socket is still ours, so try another.
      this.remove(w);
      if (!socket.destroyed) this.route(socket);
    });
  }

  private flush(): void {
    for (const [socket, timer] of this.waiting) {
      const w = this.pick();
      if (!w) return;
      clearTimeout(timer);
      this.waiting.delete(socket);
      if (socket.destroyed) continue;
      this.handOff(w, socket);
    }
  }
}
