// Host key pinning for the SSH transport: hosts are trusted by the SHA256 fingerprint configured for them,
// the same string `ssh-keygen -lf` prints, never by trust-on-first-use.
import { createHash } from 'node:crypto';

const PREFIX = 'SHA256:';

/** `SHA256:` + unpadded base64 of sha256(key blob): OpenSSH's fingerprint format. */
export function fingerprintOfKeyBlob(blob: Buffer): string {
  return PREFIX + createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
}

/** Fingerprint of an OpenSSH public key line (`ssh-ed25519 AAAA… [comment]`) or a known_hosts line. */
export function fingerprintOfPublicKey(line: string): string {
  const fields = line.trim().split(/\s+/);
  // known_hosts lines start with the host name; the key type is the first field naming one.
  const at = fields.findIndex((f) => /^(ssh-|ecdsa-|sk-)/.test(f));
  const type = fields[at];
  const b64 = fields[at + 1];
  if (at < 0 || !type || !b64) throw new Error(`not an OpenSSH public key: ${line.slice(0, 40)}…`);
  const blob = Buffer.from(b64, 'base64');
  // The blob names its own type; a mismatch means a mangled or spliced line.
  const len = blob.length >= 4 ? blob.readUInt32BE(0) : -1;
  if (len < 0 || blob.subarray(4, 4 + len).toString('latin1') !== type) {
    throw new Error(`public key blob does not match its type ${type}`);
  }
  return fingerprintOfKeyBlob(blob);
}

/** Accepts `SHA256:abc…`, `abc…` and padded base64; rejects other hash names (MD5:…). */
export function normalizeFingerprint(fp: string): string {
  const s = fp.trim();
  const colon = s.indexOf(':');
  if (colon >= 0 && s.slice(0, colon).toUpperCase() !== 'SHA256') {
    throw new Error(`only SHA256 host key fingerprints are supported, got ${s.slice(0, colon)}`);
  }
  const body = (colon >= 0 ? s.slice(colon + 1) : s).replace(/=+$/, '');
  if (!/^[A-Za-z0-9+/]{43}$/.test(body)) throw new Error(`not a SHA256 fingerprint: ${s}`);
  return PREFIX + body;
}

/**
 * A `hostVerifier` for node-ssh / ssh2 `connect()`. Without `hostHash`, ssh2 passes the raw host key blob
 * (the base64 part of the public key line, decoded); with `hostHash: 'sha256'` it passes the hex digest,
 * which is accepted too. Returning false makes ssh2 abort with "Host denied (verification failed)";
 * onMismatch sees the fingerprint the server actually offered, for an error that says what to pin.
 */
export function hostKeyVerifier(
  expected: string | readonly string[],
  onMismatch?: (actual: string) => void,
): (key: Buffer | string) => boolean {
  const allowed = new Set((typeof expected === 'string' ? [expected] : expected).map(normalizeFingerprint));
  if (allowed.size === 0) throw new Error('hostKeyVerifier needs at least one expected fingerprint');
  return (key) => {
    let actual: string;
    if (Buffer.isBuffer(key)) actual = fingerprintOfKeyBlob(key);
    else if (/^[0-9a-f]{64}$/i.test(key))
      actual = PREFIX + Buffer.from(key, 'hex').toString('base64').replace(/=+$/, '');
    else actual = `unknown (${String(key).slice(0, 16)}…; hostHash must be unset or 'sha256')`;
    const ok = allowed.has(actual);
    if (!ok) onMismatch?.(actual);
    return ok;
  };
}
