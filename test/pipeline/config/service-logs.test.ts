// environments.<e>.service.logFileMiB / logFiles: the process-mode log rotation, validated with key paths,
// left out of the resolved config when unset (service.json's defaults apply).
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseConfig } from '../../../pipeline/config/load';
import { ConfigError } from '../../../pipeline/errors';

const config = (service: Record<string, unknown>) =>
  stringify({
    app: { name: 'shop', entry: 'app/server.ts' },
    registry: { type: 'local' },
    environments: { staging: { transport: 'local', path: 'hosts', service, hosts: [{ name: 'a' }] } },
  });

describe('service log rotation keys', () => {
  it('resolves them when set, and leaves them out when not', () => {
    const set = parseConfig(config({ mode: 'process', logFileMiB: 20, logFiles: 3 }), '/p/releases.yaml', {});
    expect(set.environments.staging?.service).toMatchObject({ logFileMiB: 20, logFiles: 3 });
    const unset = parseConfig(config({ mode: 'process' }), '/p/releases.yaml', {});
    expect(Object.keys(unset.environments.staging?.service ?? {}).sort()).toEqual([
      'bind',
      'mode',
      'standbySeconds',
      'unitName',
      'workers',
    ]);
  });

  it('refuses sizes and counts out of range, naming the key', () => {
    for (const [service, key] of [
      [{ logFileMiB: 0 }, 'environments.staging.service.logFileMiB'],
      [{ logFileMiB: 2048 }, 'environments.staging.service.logFileMiB'],
      [{ logFiles: 0 }, 'environments.staging.service.logFiles'],
      [{ logFiles: 2.5 }, 'environments.staging.service.logFiles'],
    ] as const) {
      let problems: string[] = [];
      try {
        parseConfig(config(service), '/p/releases.yaml', {});
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        problems = (err as ConfigError).problems;
      }
      expect(problems.join('\n'), JSON.stringify(service)).toContain(`${key}:`);
    }
  });
});
