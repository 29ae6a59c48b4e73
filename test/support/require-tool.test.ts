import { describe, expect, it } from 'vitest';
import { isCI, requireTool, skipUnless } from './require-tool';

describe('requireTool', () => {
  it('finds tools by absolute path and on PATH', () => {
    expect(requireTool('/bin/sh', 'dash')).toEqual({ available: true });
    expect(requireTool('sh', 'dash')).toEqual({ available: true });
  });

  it('names the Debian package when a tool is missing', () => {
    const r = requireTool('/nonexistent/ferry-tool', 'ferry-pkg');
    expect(r.available).toBe(false);
    expect(r.reason).toBe('/nonexistent/ferry-tool not found: apt-get install -y ferry-pkg');
    expect(requireTool('ferry-no-such-command', 'other-pkg').reason).toMatch(/apt-get install -y other-pkg/);
  });
});

describe('skipUnless', () => {
  const missing = requireTool('/nonexistent/ferry-tool', 'ferry-pkg');

  it('skips outside CI and runs when everything is there', () => {
    expect(skipUnless(missing, {})).toBe(true);
    expect(skipUnless(missing, { CI: 'false' })).toBe(true);
    expect(skipUnless([{ available: true }], { CI: 'true' })).toBe(false);
  });

  it('fails under CI=true, naming the package', () => {
    expect(() => skipUnless([{ available: true }, missing], { CI: 'true' })).toThrow(
      /apt-get install -y ferry-pkg/,
    );
  });

  it('counts any non-empty CI other than false and 0 as CI, as CI services set it', () => {
    for (const v of ['true', '1', 'yes', 'TRUE', 'woodpecker']) expect(isCI({ CI: v }), v).toBe(true);
    for (const v of [undefined, '', 'false', 'FALSE', '0', ' '])
      expect(isCI({ CI: v }), String(v)).toBe(false);
    expect(() => skipUnless(missing, { CI: '1' })).toThrow(/^under CI \(CI=1\) a required tool is missing: /);
  });
});
