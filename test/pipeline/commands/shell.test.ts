import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { shellJoin, shellQuote } from '../../../pipeline/commands/shell';

describe('shellJoin', () => {
  it('leaves plain words alone and quotes the rest', () => {
    expect(shellJoin(['node', '/srv/app/.ferry/agent/index.js', 'deploy', '--version', '1.2.0'])).toBe(
      'node /srv/app/.ferry/agent/index.js deploy --version 1.2.0',
    );
    expect(shellQuote('')).toBe("''");
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
    expect(() => shellJoin(['a\0b'])).toThrow(/NUL/);
    expect(shellQuote('https://b.oss/x?Expires=1&Signature=a%2Fb')).toBe(
      `'https://b.oss/x?Expires=1&Signature=a%2Fb'`,
    );
  });

  it('survives a real shell unchanged, whatever the arguments hold', () => {
    const nasty = [
      'plain',
      '',
      'two words',
      "quote'inside",
      '$(touch /tmp/pwned)',
      '`id`',
      'a;b|c&d',
      '*',
      '~',
      'new\nline',
      '"dq"',
      '\\',
    ];
    const out = execFileSync('/bin/sh', ['-c', `printf '%s\\0' ${shellJoin(nasty)}`]);
    expect(out.toString().split('\0').slice(0, -1)).toEqual(nasty);
  });
});
