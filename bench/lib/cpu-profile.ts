// Reading V8 CPU profiles (`node --cpu-prof`, .cpuprofile): where the samples fall, by function and by
// package, and the folded stacks flame-graph tools take (flamegraph.pl, speedscope, inferno). Pure.

export interface CpuProfile {
  nodes: {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
    children?: number[];
  }[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  /** Sampled time, µs (idle included). */
  totalUs: number;
  idleUs: number;
  /** [label, µs] by self time, largest first. */
  selfByFunction: [string, number][];
  /** [package or area, µs] by self time, largest first. */
  selfByArea: [string, number][];
  /** [label, µs] of every frame on the stack when sampled, largest first. */
  inclusive: [string, number][];
}

// Start-up (module loading, tsx compiling the sources) is not what a request costs.
const STARTUP =
  /evaluate|Module\._load|compileSourceTextModule|esbuild|tsx\/dist|module_job|importModuleDynamically/;

type Node = CpuProfile['nodes'][number];

/** A source path as shown: under node_modules from the package on, else relative to `root`. */
function shortUrl(url: string, root: string): string {
  const path = url.replace(/^file:\/\//, '');
  if (path.includes('node_modules/')) return path.replace(/.*node_modules\//, '');
  return root && path.startsWith(`${root}/`) ? path.slice(root.length + 1) : path;
}

export function frameLabel(n: Node, root = ''): string {
  const f = n.callFrame;
  return f.url
    ? `${f.functionName || '(anonymous)'} ${shortUrl(f.url, root)}:${f.lineNumber + 1}`
    : f.functionName || '(native)';
}

/** The package (node_modules/<pkg>), Node's internals (node:…), or the folder of a source file. */
export function frameArea(n: Node): string {
  const url = n.callFrame.url;
  if (!url) return n.callFrame.functionName.startsWith('(') ? n.callFrame.functionName : '(native)';
  if (url.startsWith('node:')) return url.split('/').slice(0, 2).join('/');
  const pkg = /node_modules\/((@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  const parts = shortUrl(url, '').split('/');
  return parts.slice(0, -1).slice(-2).join('/') || parts[0]!;
}

/** Each sampled stack, root first, with the time it was sampled for; start-up stacks left out. */
function sampledStacks(p: CpuProfile): { stack: Node[]; us: number }[] {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const stacks = new Map<number, Node[]>();
  const stackOf = (id: number): Node[] => {
    let s = stacks.get(id);
    if (!s) {
      const up = parent.get(id);
      s = [...(up === undefined ? [] : stackOf(up)), byId.get(id)!];
      stacks.set(id, s);
    }
    return s;
  };
  const out: { stack: Node[]; us: number }[] = [];
  p.samples.forEach((id, i) => {
    const stack = stackOf(id);
    if (stack.some((n) => STARTUP.test(`${n.callFrame.functionName} ${n.callFrame.url}`))) return;
    out.push({ stack, us: p.timeDeltas[i] ?? 0 });
  });
  return out;
}

const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]);

/** `root`: the checkout, so source frames read "app/storage/disk.ts:10". */
export function summarize(p: CpuProfile, root = ''): ProfileSummary {
  const label = (n: Node) => frameLabel(n, root);
  const self = new Map<string, number>();
  const area = new Map<string, number>();
  const incl = new Map<string, number>();
  let totalUs = 0;
  let idleUs = 0;
  for (const { stack, us } of sampledStacks(p)) {
    const leaf = stack[stack.length - 1]!;
    totalUs += us;
    if (leaf.callFrame.functionName === '(idle)') idleUs += us;
    self.set(label(leaf), (self.get(label(leaf)) ?? 0) + us);
    area.set(frameArea(leaf), (area.get(frameArea(leaf)) ?? 0) + us);
    for (const l of new Set(stack.map(label))) incl.set(l, (incl.get(l) ?? 0) + us);
  }
  return { totalUs, idleUs, selfByFunction: sorted(self), selfByArea: sorted(area), inclusive: sorted(incl) };
}

/** Folded stacks ("root;caller;callee µs" per line), idle left out: input for flame-graph tools. */
export function foldedStacks(p: CpuProfile, root = ''): string {
  const folded = new Map<string, number>();
  for (const { stack, us } of sampledStacks(p)) {
    if (stack[stack.length - 1]!.callFrame.functionName === '(idle)') continue;
    const key = stack
      .slice(1) // "(root)"
      .map((n) => frameLabel(n, root).replace(/;/g, ','))
      .join(';');
    folded.set(key, (folded.get(key) ?? 0) + us);
  }
  return [...folded]
    .sort((a, b) => (a[0] < b[0] ? -1 : 1))
    .map(([k, us]) => `${k} ${Math.round(us)}\n`)
    .join('');
}

/** The summary as text: the busy share of each line, top `top` of each list. */
export function formatSummary(s: ProfileSummary, top = 25): string {
  const busy = s.totalUs - s.idleUs;
  const pct = (us: number) => `${((100 * us) / Math.max(1, busy)).toFixed(1).padStart(5)}%`;
  const list = (title: string, rows: [string, number][]) =>
    [
      `-- ${title} (% of busy time)`,
      ...rows
        .filter(([k]) => k !== '(idle)' && k !== '(root)')
        .slice(0, top)
        .map(([k, us]) => `${pct(us)}  ${k}`),
    ].join('\n');
  return [
    `sampled ${(s.totalUs / 1e6).toFixed(2)} s, busy ${(busy / 1e6).toFixed(2)} s (${((100 * busy) / Math.max(1, s.totalUs)).toFixed(0)}%)`,
    list('self time by package', s.selfByArea),
    list('self time by function', s.selfByFunction),
    list('inclusive time', s.inclusive),
  ].join('\n\n');
}
