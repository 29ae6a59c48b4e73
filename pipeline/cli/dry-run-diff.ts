// `ferry deploy --dry-run`: after the per-host plan, what the release changes against what each host
// runs, the same diff as `ferry diff`, once per version found on the hosts.
import type { FleetContext } from '../deploy/context';
import { isFerryError } from '../errors';
import { readSignedManifest } from '../publish/signed-manifest';
import { diffManifests, type ReleaseDiff } from '../release/diff';
import type { CommandContext } from './command';
import { diffLines } from './diff-output';

export interface HostsDiff {
  from: string;
  hosts: string[];
  diff: ReleaseDiff | null;
  /** Why no diff could be made (e.g. the running version's manifest is gone from the registry). */
  problem?: string;
}

export async function dryRunDiffs(
  ctx: CommandContext,
  fleet: FleetContext,
  version: string,
  plan: readonly { host: string; current: string | null }[],
): Promise<HostsDiff[]> {
  const byVersion = new Map<string, string[]>();
  for (const p of plan) {
    if (p.current === null || p.current === version) continue;
    byVersion.set(p.current, [...(byVersion.get(p.current) ?? []), p.host]);
  }
  const publicKey = fleet.config.signing.publicKey;
  if (byVersion.size === 0 || !publicKey) return [];
  const { prefix } = fleet.config.registry;
  const app = fleet.config.app.name;
  const read = (v: string) => readSignedManifest(fleet.registry, prefix, app, v, publicKey);
  const target = await read(version);
  const out: HostsDiff[] = [];
  for (const [from, hosts] of byVersion) {
    try {
      out.push({ from, hosts, diff: diffManifests(await read(from), target) });
    } catch (err) {
      if (!isFerryError(err)) throw err;
      out.push({ from, hosts, diff: null, problem: err.message });
    }
  }
  for (const d of out) {
    ctx.out.print('');
    ctx.out.print(ctx.style.dim(`on ${d.hosts.join(', ')}:`));
    if (d.diff) for (const l of diffLines(d.diff, ctx.style)) ctx.out.print(l);
    else ctx.out.warn(`no diff from ${d.from}: ${d.problem}`);
  }
  return out;
}
