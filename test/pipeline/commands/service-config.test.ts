import { describe, expect, it } from 'vitest';
import { SERVICE_DEFAULTS } from '../../../pipeline/agent/service/config';
import { serviceConfigJson } from '../../../pipeline/commands/service-config';

describe('serviceConfigJson', () => {
  it('writes a complete service.json with defaults filled in', () => {
    const text = serviceConfigJson({
      app: 'storage',
      port: 3000,
      mode: 'systemd',
      unitName: 'ferry-storage',
      env: { LOG_LEVEL: 'info' },
    });
    expect(text.endsWith('\n')).toBe(true);
    expect(JSON.parse(text)).toEqual({
      ...SERVICE_DEFAULTS,
      app: 'storage',
      port: 3000,
      mode: 'systemd',
      unitName: 'ferry-storage',
      env: { LOG_LEVEL: 'info' },
    });
  });

  it('refuses what the agent would refuse', () => {
    expect(() => serviceConfigJson({ app: 'storage', port: 0 })).toThrow(/port: must be an integer 1-65535/);
  });
});
