// The hook builders, exactly: the argv, which hooks each host gets (a `once` hook on the canary only),
// the --hook flags and the agent's parser of them, and the environments a hook sees.
import { describe, expect, it } from 'vitest';
import { agentArgv } from '../../../pipeline/commands/agent';
import { hookArgv, hookFlags, hostHookEnv, hostHooks, localHookEnv } from '../../../pipeline/commands/hooks';
import type { HooksConfig } from '../../../pipeline/config/resolve';
import { describeHookRun, parseHookFlag } from '../../../pipeline/hooks/spec';

const hooks: HooksConfig = {
  beforeSwitch: [
    { run: 'node scripts/migrate.js', timeoutSeconds: 600, once: true },
    { run: 'node scripts/warm.js', timeoutSeconds: 60, once: false },
  ],
  afterSwitch: [{ run: 'curl -fsS localhost:3000/warm', timeoutSeconds: 30, once: false }],
  afterDeploy: [{ run: './purge.sh', timeoutSeconds: 30, once: false }],
};

describe('hook builders', () => {
  it('runs a hook with sh -c, the command as one argument', () => {
    expect(hookArgv('node scripts/migrate.js && echo "done"')).toEqual([
      '/bin/sh',
      '-c',
      'node scripts/migrate.js && echo "done"',
    ]);
  });

  it('gives the canary every host hook, the other hosts all but the `once` ones', () => {
    expect(hostHooks(hooks, true)).toEqual([
      { phase: 'beforeSwitch', run: 'node scripts/migrate.js', timeoutSec: 600 },
      { phase: 'beforeSwitch', run: 'node scripts/warm.js', timeoutSec: 60 },
      { phase: 'afterSwitch', run: 'curl -fsS localhost:3000/warm', timeoutSec: 30 },
    ]);
    expect(hostHooks(hooks, false)).toEqual([
      { phase: 'beforeSwitch', run: 'node scripts/warm.js', timeoutSec: 60 },
      { phase: 'afterSwitch', run: 'curl -fsS localhost:3000/warm', timeoutSec: 30 },
    ]);
  });

  it('passes hooks to agent deploy as --hook PHASE:TIMEOUT:COMMAND, which the agent parses back', () => {
    const specs = hostHooks(hooks, true);
    expect(hookFlags(specs)).toEqual([
      '--hook',
      'beforeSwitch:600:node scripts/migrate.js',
      '--hook',
      'beforeSwitch:60:node scripts/warm.js',
      '--hook',
      'afterSwitch:30:curl -fsS localhost:3000/warm',
    ]);
    const argv = agentArgv('/srv/app', 'deploy', {
      version: '1.0.0',
      manifestUrl: 'https://m',
      signatureUrl: 'https://s',
      artifactUrl: 'https://a',
      hooks: specs,
    });
    expect(argv.slice(-6)).toEqual(hookFlags(specs));
    expect(
      hookFlags(specs)
        .filter((_, i) => i % 2 === 1)
        .map(parseHookFlag),
    ).toEqual(specs);
    // A command with colons, quotes and newlines survives as is.
    expect(parseHookFlag('afterSwitch:5:echo "a:b"\necho c')).toEqual({
      phase: 'afterSwitch',
      timeoutSec: 5,
      run: 'echo "a:b"\necho c',
    });
    for (const bad of ['afterDeploy:5:x', 'beforeSwitch:0:x', 'beforeSwitch:5:', 'beforeSwitch:x:y']) {
      expect(parseHookFlag(bad), bad).toMatch(/^--hook must be PHASE:TIMEOUT:COMMAND/);
    }
  });

  it("gives a host hook the app's environment, in the app's order, and the runtime first on PATH", () => {
    expect(
      hostHookEnv({
        base: { PATH: '/usr/bin:/bin', HOME: '/home/deploy', NODE_ENV: 'development', UNSET: undefined },
        runtimeBin: '/srv/app/runtimes/22.23.5-x64/bin',
        serviceEnv: { LOG_LEVEL: 'info', REGION: 'service' },
        sharedEnv: { REGION: 'shared', DB_URL: 'postgres://db' },
        vars: { FERRY_RELEASE: '1.0.0', FERRY_HOOK: 'beforeSwitch' },
      }),
    ).toEqual({
      PATH: '/srv/app/runtimes/22.23.5-x64/bin:/usr/bin:/bin',
      HOME: '/home/deploy',
      NODE_ENV: 'production',
      LOG_LEVEL: 'info',
      REGION: 'shared',
      DB_URL: 'postgres://db',
      FERRY_RELEASE: '1.0.0',
      FERRY_HOOK: 'beforeSwitch',
    });
  });

  it("gives an afterDeploy hook the CLI's environment without Ferry's own keys", () => {
    expect(
      localHookEnv(
        { PATH: '/bin', FERRY_SIGNING_KEY: 'pem', FERRY_SSH_KEY: 'pem', CDN_TOKEN: 't', FERRY_WHO: 'ci' },
        { FERRY_ENV: 'production', FERRY_VERSION: '1.0.0' },
      ),
    ).toEqual({
      PATH: '/bin',
      CDN_TOKEN: 't',
      FERRY_WHO: 'ci',
      FERRY_ENV: 'production',
      FERRY_VERSION: '1.0.0',
    });
  });

  it('describes a run in one line', () => {
    const run = {
      phase: 'beforeSwitch' as const,
      run: 'node m.js',
      ok: false,
      exitCode: 3,
      signal: null,
      timedOut: false,
      durationMs: 1234,
      output: [],
    };
    expect(describeHookRun(run)).toBe('beforeSwitch hook "node m.js" failed: exit 3 after 1.2s');
    expect(describeHookRun({ ...run, exitCode: null, signal: 'SIGKILL', timedOut: true })).toBe(
      'beforeSwitch hook "node m.js" timed out after 1.2s and was killed',
    );
    expect(describeHookRun({ ...run, ok: true, exitCode: 0 })).toBe(
      'beforeSwitch hook "node m.js" ok in 1.2s',
    );
  });
});
