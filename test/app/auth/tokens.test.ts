import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { decodeJwt } from 'jose';
import { describe, expect, it } from 'vitest';
import { createTokenVerifier, mintToken } from '../../../app/auth/tokens';
import { createUrlSigner } from '../../../app/auth/url-sign';

const SECRET = 'unit-test-secret-unit-test-secret-0000';
const ROOT = path.resolve(import.meta.dirname, '../../..');

describe('tokens', () => {
  it('round-trips subject and scopes, and expires', async () => {
    const verify = createTokenVerifier(SECRET);
    const token = await mintToken({
      secret: SECRET,
      subject: 'alice',
      scopes: ['read', 'admin'],
      ttlSeconds: 60,
    });
    const p = await verify(token);
    expect(p.userId).toBe('alice');
    expect([...p.scopes].sort()).toEqual(['admin', 'read']);
    const claims = decodeJwt(token);
    expect(claims.exp! - claims.iat!).toBe(60);

    const old = await mintToken({
      secret: SECRET,
      subject: 'alice',
      scopes: ['read'],
      ttlSeconds: 60,
      now: 1_000_000,
    });
    await expect(verify(old)).rejects.toThrow('token expired');
    await expect(createTokenVerifier(`${SECRET}x`)(token)).rejects.toThrow('invalid token');
  });

  it('refuses to mint for bad input', async () => {
    await expect(
      mintToken({ secret: SECRET, subject: '../x', scopes: ['read'], ttlSeconds: 60 }),
    ).rejects.toThrow(/user id/);
    await expect(mintToken({ secret: SECRET, subject: 'a', scopes: [], ttlSeconds: 60 })).rejects.toThrow(
      /scopes/,
    );
    await expect(
      mintToken({ secret: SECRET, subject: 'a', scopes: ['root' as 'read'], ttlSeconds: 60 }),
    ).rejects.toThrow(/scopes/);
    await expect(
      mintToken({ secret: SECRET, subject: 'a', scopes: ['read'], ttlSeconds: 0 }),
    ).rejects.toThrow(/ttl/);
  });

  it('scripts/mint-token.ts prints a token the service accepts, using AUTH_SECRET', async () => {
    const run = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'scripts/mint-token.ts', '--user', 'bob', '--scopes', 'read,write', '--ttl', '120'],
      {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? '', AUTH_SECRET: SECRET },
        encoding: 'utf8',
        timeout: 30_000,
      },
    );
    expect(run.status).toBe(0);
    const p = await createTokenVerifier(SECRET)(run.stdout.trim());
    expect(p.userId).toBe('bob');
    expect([...p.scopes].sort()).toEqual(['read', 'write']);

    const bad = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'scripts/mint-token.ts', '--user', 'bob', '--scopes', 'root'],
      {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? '', AUTH_SECRET: SECRET },
        encoding: 'utf8',
        timeout: 30_000,
      },
    );
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('unknown scope(s) root');
  });
});

describe('signed service links', () => {
  it('bind user, file and expiry', () => {
    const s = createUrlSigner(SECRET);
    const sig = s.sign('alice', 'file1', 2000);
    expect(s.verify('alice', 'file1', 2000, sig, 1000)).toBe(true);
    expect(s.verify('alice', 'file1', 2000, sig, 2001)).toBe(false);
    expect(s.verify('bob', 'file1', 2000, sig, 1000)).toBe(false);
    expect(s.verify('alice', 'file2', 2000, sig, 1000)).toBe(false);
    expect(s.verify('alice', 'file1', 3000, sig, 1000)).toBe(false);
    expect(createUrlSigner(`${SECRET}x`).verify('alice', 'file1', 2000, sig, 1000)).toBe(false);
  });
});
