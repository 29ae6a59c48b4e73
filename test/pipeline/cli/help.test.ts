// `ferry <command> --help` and `-h` must print that command's help and exit 0 for every row of the command
// table, whatever else the command line lacks (its positional arguments, a config file) or carries (a flag
// value that would be refused). Walking COMMANDS means a command added later is covered without a new test.
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../../pipeline/cli/commands';
import { ferry } from './run';

describe.each(COMMANDS.map((c) => c.name))('ferry %s', (name) => {
  it.each(['--help', '-h'])(
    '%s prints its help and exits 0, with no argument and no config',
    async (flag) => {
      // A config path that does not exist: help must not try to load it.
      const r = await ferry([name, flag, '-c', '/nonexistent/releases.yaml']);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^usage: ferry ${name}\\b`));
      expect(r.stdout).toContain('global options:');
    },
  );

  it('--help wins over extra words and other flags', async () => {
    const r = await ferry([name, 'one', 'two', 'three', '--json', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^usage: ferry ${name}\\b`));
  });

  it('`ferry help <command>` prints the same text', async () => {
    const a = await ferry([name, '--help']);
    const b = await ferry(['help', name]);
    expect(b.code).toBe(0);
    expect(b.stdout).toBe(a.stdout);
  });
});
