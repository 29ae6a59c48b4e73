'use strict';
// Loaded into every worker with `node --require` by Ferry's supervisor (service/worker.ts). Plain
// CommonJS with no dependencies: it runs on whichever Node runtime the release pins, 20 to 24.
//
// The supervisor owns the public port. A worker must not bind it: it would take user traffic before
// the health gate has seen it. So the app's listen on the public port (PORT) is moved to a private
// loopback port; the supervisor probes that port, and only once the whole generation is healthy does
// it hand the worker user connections over IPC, which are fed to the app's server as if it had
// accepted them itself. The app keeps seeing PORT as the public port, and needs no change.
const http = require('node:http');
const net = require('node:net');

const publicPort = Number(process.env.FERRY_PUBLIC_PORT);
let target = null;
// Warm standby (after a newer generation took over): the worker stays up, so a rollback needs no app
// start, but lets go of the keep-alive connections it still holds, or clients would keep talking to the
// old release. A request still arriving on one is answered with Connection: close; one that stays idle
// is ended only after IDLE_CLOSE_MS, since a client may be sending its next request on it right now
// (ending it at once is how resets happen under load).
const IDLE_CLOSE_MS = 300;
let standby = false;
let sweeper = null;
const sockets = new Map();

function track(server) {
  if (!(server instanceof http.Server)) return;
  server.on('connection', (socket) => {
    sockets.set(socket, { busy: 0, idleSince: Date.now() });
    socket.once('close', () => sockets.delete(socket));
  });
  // Before the app's own handler, which may answer at once: after that the headers are sent.
  server.prependListener('request', (req, res) => {
    const c = sockets.get(req.socket);
    if (c) c.busy++;
    if (standby && !res.headersSent) res.setHeader('connection', 'close');
    res.once('close', () => {
      if (!c) return;
      c.busy--;
      c.idleSince = Date.now();
    });
  });
}

function sweep() {
  const now = Date.now();
  for (const [socket, c] of sockets) if (c.busy === 0 && now - c.idleSince > IDLE_CLOSE_MS) socket.end();
  if (sockets.size === 0 || !standby) {
    clearInterval(sweeper);
    sweeper = null;
  }
}

// Maintenance mode (service/maintenance.ts): while on, every request to the app's server is answered
// 503 here, before the app sees it, except the health and version paths (load balancers and the gate keep
// working). Requests, not connections: a keep-alive connection opened before maintenance began is
// refused too. The supervisor sends changes over IPC; a worker forked meanwhile gets the state in its env.
let maintenance = parseJson(process.env.FERRY_MAINTENANCE);
const probePaths = new Set(parseJson(process.env.FERRY_PROBE_PATHS) || []);

function parseJson(text) {
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

function exempt(url) {
  const path = String(url || '/').split('?')[0];
  return probePaths.has(path);
}

function maintenanceBody() {
  return JSON.stringify({
    error: { code: 'maintenance', message: String(maintenance.message) },
    retryAfter: maintenance.retryAfterSec,
  });
}

function refuse(res) {
  const body = maintenanceBody();
  res.writeHead(503, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'retry-after': String(maintenance.retryAfterSec),
    'cache-control': 'no-store',
  });
  res.end(body);
}

// Wraps the server's emit, so the check runs before any 'request' listener, whichever framework added it.
function guard(server) {
  const emit = server.emit;
  server.emit = function ferryMaintenanceEmit(event, ...args) {
    const [req, resOrSocket] = args;
    if (maintenance && (event === 'request' || event === 'checkContinue') && !exempt(req?.url)) {
      refuse(resOrSocket);
      return true;
    }
    if (maintenance && event === 'upgrade' && !exempt(req?.url)) {
      // (req, socket, head): no response object for an upgrade; answer on the socket itself.
      const body = maintenanceBody();
      resOrSocket.end(
        `HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nRetry-After: ${maintenance.retryAfterSec}\r\nConnection: close\r\n\r\n${body}`,
      );
      return true;
    }
    return emit.call(this, event, ...args);
  };
}

function requestedPort(args) {
  const first = args[0];
  if (typeof first === 'number') return first;
  if (typeof first === 'string' && /^[0-9]+$/.test(first)) return Number(first);
  if (first !== null && typeof first === 'object' && !(first instanceof net.Server) && 'port' in first) {
    return Number(first.port);
  }
  return null;
}

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function ferryListen(...args) {
  if (!Number.isInteger(publicPort) || requestedPort(args) !== publicPort) return listen.apply(this, args);
  const callback = typeof args[args.length - 1] === 'function' ? args[args.length - 1] : undefined;
  if (target === null) {
    target = this;
    track(this);
    guard(this);
    this.once('listening', () => {
      const address = this.address();
      if (process.send && address && typeof address === 'object') {
        process.send({ ferry: 'listening', port: address.port });
      }
    });
  }
  return listen.call(this, { port: 0, host: '127.0.0.1' }, callback);
};

process.on('message', (message, socket) => {
  if (message === null || typeof message !== 'object') return;
  if (message.ferry === 'maintenance') {
    maintenance = message.state || null;
    if (process.send) process.send({ ferry: 'maintenance-applied', seq: message.seq });
    return;
  }
  if (message.ferry === 'standby') {
    standby = true;
    // Connections idle since before the switch end now, before the supervisor reports the reload done:
    // a client that learns of the deploy and reuses one then finds it closed instead of racing the FIN.
    sweep();
    if (sweeper === null && sockets.size > 0) {
      sweeper = setInterval(sweep, 50);
      sweeper.unref();
    }
    if (process.send) process.send({ ferry: 'standby-applied' });
    return;
  }
  if (message.ferry === 'resume') {
    standby = false;
    if (process.send) process.send({ ferry: 'resume-applied' });
    return;
  }
  if (message.ferry !== 'conn' || !socket) return;
  // A hand-off can cross the SIGTERM that retires this worker: the app's server, draining, still
  // answers it (with Connection: close) rather than the client seeing a reset.
  if (target === null) {
    socket.destroy();
    return;
  }
  target.emit('connection', socket);
  // The supervisor accepted with pauseOnConnect, so no byte was read before the hand-off.
  socket.resume();
});
// A 'message' listener keeps the IPC channel referenced; unref it so an app that ends its event loop
// still exits as it would without Ferry.
if (process.channel) process.channel.unref();

// The supervisor is gone (killed, or systemd stopped it): nobody routes here any more. Drain the way
// a SIGTERM would, so in-flight requests finish.
process.on('disconnect', () => process.kill(process.pid, 'SIGTERM'));
