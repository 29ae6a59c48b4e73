import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { NodeSSH } from 'node-ssh';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  fingerprintOfKeyBlob,
  fingerprintOfPublicKey,
  hostKeyVerifier,
  normalizeFingerprint,
} from '../../../pipeline/transport/host-key';

// Printed by `ssh-keygen -lf` for this key.
const FIXTURE_KEY =
  'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICORr2O6liwzrshmGf2XZ/uoQusR2s9fW68KbU5nVoan fixture';
const FIXTURE_FP = 'SHA256:lP3emT/GBHPUwjOklKKGOvWMHv/hMUy1/Yh86zgP4Us';

describe('fingerprints', () => {
  it('matches ssh-keygen -lf for a public key line and a known_hosts line', () => {
    expect(fingerprintOfPublicKey(FIXTURE_KEY)).toBe(FIXTURE_FP);
    const knownHosts = `[127.0.0.2]:2222 ${FIXTURE_KEY.split(' ').slice(0, 2).join(' ')}`;
    expect(fingerprintOfPublicKey(knownHosts)).toBe(FIXTURE_FP);
    expect(fingerprintOfKeyBlob(Buffer.from(FIXTURE_KEY.split(' ')[1]!, 'base64'))).toBe(FIXTURE_FP);
  });

  it('rejects a line whose blob names another key type', () => {
    expect(() => fingerprintOfPublicKey(FIXTURE_KEY.replace('ssh-ed25519', 'ssh-rsa'))).toThrow(
      /does not match/,
    );
    expect(() => fingerprintOfPublicKey('nonsense')).toThrow(/not an OpenSSH public key/);
  });

  it('normalizes prefix and padding, refuses MD5 and garbage', () => {
    const body = FIXTURE_FP.slice('SHA256:'.length);
    expect(normalizeFingerprint(body)).toBe(FIXTURE_FP);
    expect(normalizeFingerprint(`sha256:${body}=`)).toBe(FIXTURE_FP);
    expect(() => normalizeFingerprint('MD5:16:27:ac:a5:76:28:2d:36:63:1b:56:4d:eb:df:a6:48')).toThrow(
      /only SHA256/,
    );
    expect(() => normalizeFingerprint('SHA256:short')).toThrow(/not a SHA256/);
  });

  it('verifies a raw key blob and a hex sha256 digest', () => {
    const blob = Buffer.from(FIXTURE_KEY.split(' ')[1]!, 'base64');
    const seen: string[] = [];
    const verify = hostKeyVerifier(FIXTURE_FP, (fp) => seen.push(fp));
    expect(verify(blob)).toBe(true);
    expect(verify('0'.repeat(64))).toBe(false);
    const hex = Buffer.from(FIXTURE_FP.slice(7), 'base64').toString('hex');
    expect(verify(hex)).toBe(true);
    expect(verify(Buffer.from('other'))).toBe(false);
    expect(seen).toHaveLength(2);
    expect(seen[1]).toBe(fingerprintOfKeyBlob(Buffer.from('other')));
  });
});

// ssh2 ships without types; this is the little of it the test uses.
interface Ssh2 {
  utils: { generateKeyPairSync(type: 'ed25519'): { private: string; public: string } };
  Server: new (
    cfg: { hostKeys: string[] },
    onClient: (client: {
      on(ev: 'authentication', cb: (ctx: { accept(): void }) => void): void;
      on(ev: 'error', cb: () => void): void;
    }) => void,
  ) => {
    listen(port: number, host: string, cb: () => void): void;
    address(): AddressInfo;
    close(): void;
  };
}

describe('hostKeyVerifier in a real ssh2 handshake', () => {
  const ssh2 = createRequire(import.meta.url)('ssh2') as Ssh2;
  const hostKey = ssh2.utils.generateKeyPairSync('ed25519');
  const server = new ssh2.Server({ hostKeys: [hostKey.private] }, (client) => {
    client.on('authentication', (ctx) => ctx.accept());
    client.on('error', () => {});
  });
  let port = 0;

  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = server.address().port;
  });
  afterAll(() => server.close());

  const connect = (hostVerifier: (key: Buffer | string) => boolean, hostHash?: string) =>
    new NodeSSH().connect({ host: '127.0.0.1', port, username: 'u', password: 'p', hostVerifier, hostHash });

  it('connects when the fingerprint matches the host key', async () => {
    const ssh = await connect(hostKeyVerifier(fingerprintOfPublicKey(hostKey.public)));
    expect(ssh.isConnected()).toBe(true);
    ssh.dispose();
  });

  it("also works with hostHash 'sha256'", async () => {
    const ssh = await connect(hostKeyVerifier(fingerprintOfPublicKey(hostKey.public)), 'sha256');
    expect(ssh.isConnected()).toBe(true);
    ssh.dispose();
  });

  it('refuses another key and reports the one offered', async () => {
    const offered: string[] = [];
    await expect(connect(hostKeyVerifier(FIXTURE_FP, (fp) => offered.push(fp)))).rejects.toThrow(
      /Host denied/,
    );
    expect(offered).toEqual([fingerprintOfPublicKey(hostKey.public)]);
  });
});
