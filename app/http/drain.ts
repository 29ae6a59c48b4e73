// Graceful drain for zero-downtime reloads. Node >= 19's http.Server.close() (and so Fastify's close())
// closes idle keep-alive sockets at once, racing clients that are sending their next request on them
// right then: under load that shows up as ECONNRESET. Instead: stop accepting (net's close, which in a
// cluster worker also tells the primary to route no more connections here), answer whatever still
// arrives with `Connection: close`, and end a socket only once it has been idle for a while.
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import net from 'node:net';

const draining = new WeakSet<Server>();
const tracked = new WeakMap<Server, Map<Socket, { busy: number; idleSince: number }>>();

/** Start counting requests per connection; call once, before listen. */
export function trackConnections(server: Server): void {
  const conns = new Map<Socket, { busy: number; idleSince: number }>();
  tracked.set(server, conns);
  server.on('connection', (socket: Socket) => {
    conns.set(socket, { busy: 0, idleSince: Date.now() });
    socket.on('close', () => conns.delete(socket));
  });
  server.on('request', (req, res) => {
    const c = conns.get(req.socket);
    if (!c) return;
    c.busy++;
    res.on('close', () => {
      c.busy--;
      c.idleSince = Date.now();
    });
  });
}

export function isDraining(server: Server): boolean {
  return draining.has(server);
}

/** Resolves when every connection is gone, or after `timeoutMs` (then the rest are destroyed). */
export function drain(
  server: Server,
  opts: { idleCloseMs?: number; timeoutMs: number },
): Promise<'drained' | 'timeout'> {
  const idleCloseMs = opts.idleCloseMs ?? 300;
  const conns = tracked.get(server) ?? new Map();
  draining.add(server);
  net.Server.prototype.close.call(server);
  const deadline = Date.now() + opts.timeoutMs;
  return new Promise((resolve) => {
    const tick = setInterval(() => {
      for (const [socket, c] of conns) {
        if (c.busy === 0 && Date.now() - c.idleSince > idleCloseMs) socket.end();
      }
      if (conns.size === 0) {
        clearInterval(tick);
        resolve('drained');
      } else if (Date.now() > deadline) {
        clearInterval(tick);
        for (const socket of conns.keys()) socket.destroy();
        resolve('timeout');
      }
    }, 50);
  });
}
