import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../pipeline/errors';
import { signingKeyFromEnv } from '../../../pipeline/publish/signing-key';
import { generateSigningKeyPair } from '../../../pipeline/release/signing';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('signingKeyFromEnv', () => {
  it('takes the env first, then the project key file ferry init made, else says how to get one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ferry-key-'));
    dirs.push(dir);
    const project = generateSigningKeyPair().privateKeyPem;
    const ci = generateSigningKeyPair().privateKeyPem;
    const file = join(dir, 'signing-key.pem');
    await writeFile(file, project);
    expect(signingKeyFromEnv({ FERRY_SIGNING_KEY: ci }, dir, file)).toBe(ci);
    expect(signingKeyFromEnv({}, dir, file)).toBe(project);
    expect(() => signingKeyFromEnv({}, dir, join(dir, 'absent.pem'))).toThrow(ConfigError);
    expect(() => signingKeyFromEnv({}, dir)).toThrow(/no signing key: set FERRY_SIGNING_KEY/);
  });
});
