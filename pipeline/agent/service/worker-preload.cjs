'use strict';
// Loaded into every worker with `node --require` by Ferry's supervisor (service/worker.ts). Plain
// CommonJS with no dependencies: it runs on whichever Node runtime the release pins, 20 to 24.
//
// The supervisor owns the public port. A worker must not bind it: it would take user traffic before
// the health gate has seen it. So the app's listen on the public port (PORT) is moved to a private
// loopback port; the supervisor probes that port, and only once the whole generation is healthy does
// it hand the worker user connections over IPC, which are fed to the app's server as if it had
// accepted them itself. The app keeps seeing PORT as the public port, and needs no change.
const net = require('node:net');

const publicPort = Number(process.env.FERRY_PUBLIC_PORT);
let target = null;

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
  if (message === null || typeof message !== 'object' || message.ferry !== 'conn' || !socket) return;
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
