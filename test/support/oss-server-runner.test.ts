// The standalone runner: argument parsing, and the real script serving ali-oss until SIGTERM.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import OSS from 'ali-oss';
import { describe, expect, it } from 'vitest';
import { parseRunnerArgs } from './oss-server/runner';

describe('parseRunnerArgs', () => {
  it('defaults to two ephemeral ports and the fake local credentials', () => {
    const { options } = parseRunnerArgs([], {});
    expect(options).toMatchObject({
      ports: { public: 0, internal: 0 },
      bucket: 'ferry-test',
      accessKeyId: 'ferry-local-id',
      accessKeySecret: 'ferry-local-secret',
      host: '127.0.0.1',
    });
    expect(options.stsToken).toBeUndefined();
  });

  it('takes flags over environment variables', () => {
    const env = {
      OSS_SERVER_PORTS: 'a=9100,b=9101',
      OSS_SERVER_BUCKET: 'from-env',
      OSS_SERVER_STS_TOKEN: 't',
    };
    expect(parseRunnerArgs([], env).options).toMatchObject({
      ports: { a: 9100, b: 9101 },
      bucket: 'from-env',
      stsToken: 't',
    });
    const flagged = parseRunnerArgs(['--port', 'x=1', '--port', 'y=2', '--bucket', 'flag'], env);
    expect(flagged.options).toMatchObject({ ports: { x: 1, y: 2 }, bucket: 'flag' });
  });

  it('rejects malformed ports and unknown flags', () => {
    expect(() => parseRunnerArgs(['--port', 'public'], {})).toThrow(/NAME=PORT/);
    expect(() => parseRunnerArgs(['--port', 'p=70000'], {})).toThrow(/NAME=PORT/);
    expect(() => parseRunnerArgs(['--nope'], {})).toThrow();
  });
});

describe('scripts/oss-server.ts', () => {
  it('prints its endpoints, serves ali-oss, and exits 0 on SIGTERM', async () => {
    const root = join(import.meta.dirname, '..', '..');
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(root, 'scripts', 'oss-server.ts'), '--port', 'public=0', '--bucket', 'runner'],
      { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    try {
      const endpoint = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no endpoint printed:\n${out}`)), 30_000);
        child.stdout.on('data', () => {
          const m = /public\s+(http:\/\/localhost:\d+)/.exec(out);
          if (m?.[1]) {
            clearTimeout(timer);
            resolve(m[1]);
          }
        });
      });
      expect(out).toContain("accessKeySecret: 'ferry-local-secret'");
      const client = new OSS({
        endpoint,
        cname: true,
        bucket: 'runner',
        accessKeyId: 'ferry-local-id',
        accessKeySecret: 'ferry-local-secret',
      });
      await client.put('hello.txt', Buffer.from('hi'));
      expect((await client.get('hello.txt')).content.toString()).toBe('hi');
      child.kill('SIGTERM');
      const [code] = await once(child, 'exit');
      expect(code).toBe(0);
      expect(out).toMatch(/public PUT \/hello.txt PutObject -> 200/);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
