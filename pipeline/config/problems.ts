// A problem is one bad value in releases.yaml: where it is (key path) and what was expected. Paths are
// printed the way people write them in YAML: `environments.production.hosts[1].address`.

export type KeyPath = readonly (string | number)[];

export interface Problem {
  path: KeyPath;
  message: string;
  /** 1-based line in releases.yaml, when the YAML node could be found. */
  line?: number;
}

const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_-]*$/;

export function formatPath(path: KeyPath): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (PLAIN_KEY.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out === '' ? '(top level)' : out;
}

export function formatProblem(p: Problem): string {
  return `${formatPath(p.path)}: ${p.message}${p.line === undefined ? '' : ` (line ${p.line})`}`;
}

/** JSON pointer (`/environments/prod/hosts/1`) to a key path, using the data to tell indexes from keys. */
export function pointerToPath(pointer: string, data: unknown): (string | number)[] {
  if (pointer === '' || pointer === '#') return [];
  const segs = pointer
    .replace(/^#/, '')
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  const out: (string | number)[] = [];
  let cur: unknown = data;
  for (const seg of segs) {
    if (Array.isArray(cur) && /^\d+$/.test(seg)) {
      out.push(Number(seg));
      cur = cur[Number(seg)];
    } else {
      out.push(seg);
      cur = cur !== null && typeof cur === 'object' ? (cur as Record<string, unknown>)[seg] : undefined;
    }
  }
  return out;
}

/** Closest of `candidates` to `word` when it is plausibly a typo (edit distance <= 2). */
export function suggest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDist = 3;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDist) {
      best = c;
      bestDist = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(
        (prev[j] ?? 0) + 1,
        (cur[j - 1] ?? 0) + 1,
        (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    prev = cur;
  }
  return prev[b.length] ?? 0;
}
