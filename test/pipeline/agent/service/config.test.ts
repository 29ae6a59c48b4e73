import { describe, expect, it } from 'vitest';
import { parseServiceConfig, probeHost, SERVICE_DEFAULTS } from '../../../../pipeline/agent/service/config';
import { parseDotenv } from '../../../../pipeline/agent/service/dotenv';

describe('parseServiceConfig', () => {
  it('fills defaults', () => {
    const { config } = parseServiceConfig({ app: 'storage', port: 3000 });
    expect(config).toEqual({ ...SERVICE_DEFAULTS, app: 'storage', port: 3000 });
  });

  it('names every bad key', () => {
    const { config, problems } = parseServiceConfig({
      app: 'bad name',
      port: 70000,
      workers: 0,
      mode: 'systemd',
      healthPath: 'healthz',
      env: { 'BAD-KEY': 'x', N: 1 },
    });
    expect(config).toBeUndefined();
    expect(problems).toEqual([
      'app: must be the app name (letters, digits, . _ -)',
      'port: must be an integer 1-65535',
      'workers: must be an integer 1-64',
      'healthPath: must be a path starting with /',
      'unitName: must be a systemd unit name in systemd mode',
      'env.BAD-KEY: not a valid variable name',
      'env.N: must be a string',
    ]);
  });

  it('takes versionPath null (an app with no version endpoint), and refuses any other non-path', () => {
    expect(parseServiceConfig({ app: 'web', port: 3000, versionPath: null }).config?.versionPath).toBeNull();
    expect(parseServiceConfig({ app: 'web', port: 3000, versionPath: 'version' }).problems).toEqual([
      'versionPath: must be a path starting with / (or null: no version check)',
    ]);
  });

  it('probes wildcard binds over loopback', () => {
    expect(probeHost('0.0.0.0')).toBe('127.0.0.1');
    expect(probeHost('::')).toBe('::1');
    expect(probeHost('10.0.0.5')).toBe('10.0.0.5');
  });
});

describe('parseDotenv', () => {
  it('reads KEY=VALUE lines with comments, export and quotes, without interpolation', () => {
    const text = [
      '# comment',
      'PLAIN=value # trailing comment',
      'export EXPORTED=yes',
      'DOUBLE="two\\nlines"',
      "SINGLE='keeps $HOME and \\n'",
      'DOLLAR=pa$$word',
      'EMPTY=',
      'not a line',
      '  SPACED = padded  ',
    ].join('\n');
    expect(parseDotenv(text)).toEqual({
      PLAIN: 'value',
      EXPORTED: 'yes',
      DOUBLE: 'two\nlines',
      SINGLE: 'keeps $HOME and \\n',
      DOLLAR: 'pa$$word',
      EMPTY: '',
      SPACED: 'padded',
    });
  });
});
