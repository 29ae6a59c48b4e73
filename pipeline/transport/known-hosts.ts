// Reads OpenSSH known_hosts so an environment can pin host keys the way operators already do, instead of
// copying fingerprints into releases.yaml. Hashed entries (|1|…) are matched with their HMAC.
import { createHmac } from 'node:crypto';
import { fingerprintOfPublicKey } from './host-key';

/** The fingerprints known for `address:port`, as `SHA256:…`; empty when the host is unknown. */
export function knownFingerprints(knownHosts: string, address: string, port: number): string[] {
  const names = port === 22 ? [address, `[${address}]:22`] : [`[${address}]:${port}`];
  const out: string[] = [];
  for (const raw of knownHosts.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith('@revoked')) continue;
    const fields = line.replace(/^@cert-authority\s+/, '').split(/\s+/);
    const [hosts, type, key] = fields;
    if (!hosts || !type || !key || line.startsWith('@cert-authority')) continue;
    if (hosts.split(',').some((h) => names.some((n) => matches(h, n)))) {
      out.push(fingerprintOfPublicKey(`${type} ${key}`));
    }
  }
  return out;
}

function matches(pattern: string, name: string): boolean {
  if (pattern.startsWith('|1|')) {
    const [, , salt, hash] = pattern.split('|');
    if (!salt || !hash) return false;
    return createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64') === hash;
  }
  return pattern === name;
}
