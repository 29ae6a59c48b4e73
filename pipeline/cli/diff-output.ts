// How `ferry diff` and `ferry deploy --dry-run` print a release diff (pipeline/release/diff.ts).
import type { ReleaseDiff, SizeChange, ValueChange } from '../release/diff';
import { formatBytes, type Style } from './io';

const signed = (n: number) => (n === 0 ? '±0 B' : `${n > 0 ? '+' : '−'}${formatBytes(Math.abs(n))}`);

function size(c: SizeChange): string {
  if (c.from === null && c.to === null) return 'none';
  if (c.from === null) return `${formatBytes(c.to as number)} (new)`;
  if (c.to === null) return `${formatBytes(c.from)} → none`;
  return c.delta === 0
    ? `${formatBytes(c.to)} (same size)`
    : `${formatBytes(c.from)} → ${formatBytes(c.to)} (${signed(c.delta as number)})`;
}

const value = (v: string | number | null) => (v === null ? '(none)' : String(v));

export function diffLines(d: ReleaseDiff, style: Style): string[] {
  const lines: string[] = [style.bold(`${d.app} ${d.from.version} → ${d.to.version}`)];
  const short = (c: string | null) => (c === null ? '-' : c.slice(0, 7));
  if (d.from.commit !== d.to.commit)
    lines.push(`  commit     ${short(d.from.commit)} → ${short(d.to.commit)}`);
  lines.push(`  artifact   ${size(d.artifact)}`);
  lines.push(`  bundle     ${d.bundle.path} ${size(d.bundle)}`);
  if (d.sourceMap.from !== null || d.sourceMap.to !== null) lines.push(`  map        ${size(d.sourceMap)}`);
  const rt = (v: string | null) => (v === null ? "the host's node" : `node ${v}`);
  lines.push(
    `  runtime    ${d.runtime.changed ? style.yellow(`${rt(d.runtime.from)} → ${rt(d.runtime.to)}`) : `${rt(d.runtime.to)} (unchanged)`}`,
  );
  if (d.node.changed) lines.push(`  engines    node ${d.node.from} → ${d.node.to}`);

  const f = d.files;
  lines.push(
    `files: ${f.added.length} added, ${f.removed.length} removed, ${f.changed.length} changed, ${f.unchanged} unchanged`,
  );
  for (const a of f.added) lines.push(style.green(`  + ${a.path}  ${formatBytes(a.size)}`));
  for (const r of f.removed) lines.push(style.red(`  - ${r.path}  ${formatBytes(r.size)}`));
  for (const c of f.changed)
    lines.push(`  ~ ${c.path}  ${formatBytes(c.from)} → ${formatBytes(c.to)} (${signed(c.delta)})`);

  const deps = d.dependencies;
  if (deps === null) {
    lines.push(
      style.dim('dependencies: not recorded in both releases (one was built before Ferry recorded them)'),
    );
  } else {
    lines.push(
      `dependencies: ${deps.added.length} added, ${deps.removed.length} removed, ${deps.changed.length} changed`,
    );
    const lic = (l: string | null) => l ?? 'no licence';
    for (const a of deps.added) lines.push(style.green(`  + ${a.name} ${a.version} (${lic(a.license)})`));
    for (const r of deps.removed) lines.push(style.red(`  - ${r.name} ${r.version} (${lic(r.license)})`));
    for (const c of deps.changed) {
      const mark = c.kind === 'upgraded' ? '↑' : c.kind === 'downgraded' ? '↓' : '~';
      const licence =
        c.licenseFrom === c.licenseTo
          ? lic(c.licenseTo)
          : style.yellow(`licence ${lic(c.licenseFrom)} → ${lic(c.licenseTo)}`);
      lines.push(`  ${mark} ${c.name} ${c.from} → ${c.to} (${licence})`);
    }
  }

  if (d.env === null || d.settings === null) {
    lines.push(style.dim('settings: not recorded in both releases'));
    return lines;
  }
  const changes = (title: string, added: ValueChange[], removed: ValueChange[], changed: ValueChange[]) => {
    if (added.length + removed.length + changed.length === 0) {
      lines.push(`${title}: unchanged`);
      return;
    }
    lines.push(`${title}:`);
    for (const a of added) lines.push(style.green(`  + ${a.key}=${value(a.to)}`));
    for (const r of removed) lines.push(style.red(`  - ${r.key}`));
    for (const c of changed) lines.push(`  ~ ${c.key}: ${value(c.from)} → ${value(c.to)}`);
  };
  changes('app.env', d.env.added, d.env.removed, d.env.changed);
  changes('service settings', [], [], d.settings);
  return lines;
}
