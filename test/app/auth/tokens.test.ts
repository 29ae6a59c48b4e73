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

  it('remembers a verified token only until it expires, and only that exact token', async () => {
    let clock = 2_000_000;
    const verify = createTokenVerifier(SECRET, { now: () => clock });
    const token = await mintToken({
      secret: SECRET,
      subject: 'alice',
      scopes: ['read'],
      ttlSeconds: 60,
      now: clock,
    });
    const first = await verify(token);
    // The same principal object back: answered from memory, not verified again.
    expect(await verify(token)).toBe(first);

    // One changed signature character is a different token: verified, and refused.
    // (Not the last character: some of its bits are padding.)
    const at = token.length - 10;
    const flipped = `${token.slice(0, at)}${token[at] === 'A' ? 'B' : 'A'}${token.slice(at + 1)}`;
    await expect(verify(flipped)).rejects.toThrow('invalid token');

    // Within jose's 5 s tolerance past exp it still counts; after that the remembered answer is dropped.
    clock += 64;
    expect(await verify(token)).toBe(first);
    clock += 2;
    await expect(verify(token)).rejects.toThrow('token expired');
    await expect(verify(token)).rejects.toThrow('token expired');
  });

  it('forgets the oldest verified tokens past its budget', async () => {
    const verify = createTokenVerifier(SECRET, { maxCached: 2 });
    const mint = (subject: string) =>
      mintToken({ secret: SECRET, subject, scopes: ['read'], ttlSeconds: 60 });
    const [a, b, c] = [await mint('a'), await mint('b'), await mint('c')];
    const pa = await verify(a);
    const pb = await verify(b);
    const pc0 = await verify(c);
    // a was the oldest: verified anew (a new object), which pushes b out in turn; c stays remembered.
    const pa2 = await verify(a);
    expect(pa2).not.toBe(pa);
    expect(pa2.userId).toBe('a');
    expect(await verify(c)).toBe(pc0);
    const pb2 = await verify(b);
    expect(pb2).not.toBe(pb);
    expect(pb2.userId).toBe('b');
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
