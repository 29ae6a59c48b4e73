import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { FerryError } from '../../../pipeline/errors';
import { ExitCode } from '../../../pipeline/exit-codes';
import { assertNoCredentials } from '../../../pipeline/scan/check';
import { formatHit, scanFiles } from '../../../pipeline/scan/scan';
import { FAKE_ACCESS_KEY_ID, PEM_BEGIN, PEM_END, RSA_PEM_BEGIN } from '../../fixtures/fake-credentials';

const file = (path: string, text: string) => ({ path, bytes: Buffer.from(text) });
const KEY_ID = FAKE_ACCESS_KEY_ID;
const pem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

describe('credential scan', () => {
  it('finds an AccessKey id deep in a minified line and reports line and column', () => {
    const minified = `${'a'.repeat(5000)};var k="${KEY_ID}";${'b'.repeat(5000)}`;
    const hits = scanFiles([file('app/index.js', `"use strict";\n${minified}\n`)]);
    expect(hits).toHaveLength(1);
    expect(hits[0]).toMatchObject({ file: 'app/index.js', line: 2, column: 5009, rule: 'access-key-id' });
    expect(formatHit(hits[0] as (typeof hits)[0])).toBe(
      'app/index.js:2:5009: looks like an Alibaba Cloud AccessKey id (LTAI5t…)',
    );
  });

  it('counts lines correctly across several hits in one file', () => {
    const text = `x\n${KEY_ID}\ny\nz = "${KEY_ID.replace('5t', '9z')}"\n`;
    expect(scanFiles([file('a.js', text)]).map((h) => [h.line, h.column])).toEqual([
      [2, 1],
      [4, 6],
    ]);
  });

  it('finds PEM private keys, raw and as an escaped string literal', () => {
    const escaped = JSON.stringify(pem);
    const hits = scanFiles([file('key.pem', pem), file('app/index.js', `const k=${escaped};`)]);
    expect(hits.map((h) => `${h.file}:${h.rule}`)).toEqual([
      'key.pem:private-key',
      'app/index.js:private-key',
    ]);
  });

  it('flags .env files but not examples', () => {
    const hits = scanFiles([
      file('app/.env', 'A=1'),
      file('app/.env.production', ''),
      file('app/.env.example', 'A='),
    ]);
    expect(hits.map((h) => h.file)).toEqual(['app/.env', 'app/.env.production']);
  });

  it('ignores look-alikes: PEM headers without a key body, short or embedded LTAI strings', () => {
    const code = [
      `const h = "${PEM_BEGIN}\\n" + body + "\\n${PEM_END}";`,
      `if (line === '${RSA_PEM_BEGIN}') parse();`,
      'const short = "LTAIabc123";',
      `const word = "X${FAKE_ACCESS_KEY_ID}";`,
      `const long = "${FAKE_ACCESS_KEY_ID}${FAKE_ACCESS_KEY_ID}";`,
    ].join('\n');
    expect(scanFiles([file('app/index.js', code)])).toEqual([]);
  });

  it('refuses with exit 1 and names every hit, never the secret itself', () => {
    let err: unknown;
    try {
      assertNoCredentials([file('app/index.js', `k="${KEY_ID}"`)], 'demo 1.0.0');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FerryError);
    expect((err as FerryError).exitCode).toBe(ExitCode.Failure);
    expect((err as Error).message).toContain('app/index.js:1:4:');
    expect((err as Error).message).not.toContain(KEY_ID);
    expect(() => assertNoCredentials([file('app/index.js', 'fine')], 'x')).not.toThrow();
  });
});
