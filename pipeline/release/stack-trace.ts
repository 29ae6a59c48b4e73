// Decodes positions in the minified bundle ("…/releases/1.4.0/app/index.js:1:23456") back to the source
// ("app/routes/files/list.ts:42:7") with the release's source map. Pure text in, text out, so a stack
// pasted from a terminal, a journald line or a JSON log line (with its \n escapes) all work alike.

/** The part of node:module's SourceMap used here (0-based lines and columns). */
export interface SourceMapLookup {
  findEntry(
    line: number,
    column: number,
  ): {
    generatedLine?: number;
    originalSource?: string;
    originalLine?: number;
    originalColumn?: number;
    name?: string | undefined;
  };
}

export interface DecodedTrace {
  text: string;
  /** Positions found in the bundle, and how many of them the map resolved. */
  frames: number;
  mapped: number;
}

/** Every `<path>/<entry>:<line>:<column>`; the path prefix (host folder, file://) is replaced too. */
function framePattern(entry: string): RegExp {
  const escaped = entry.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(?:file://)?(?:[^\\s()"'\`]*/)?${escaped}:(\\d+):(\\d+)`, 'g');
}

/** The versions named by release folders in the frames' paths ("/releases/1.4.0/app/index.js"). */
export function versionsInTrace(text: string, entry: string): string[] {
  const found = new Set<string>();
  const escaped = entry.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  for (const m of text.matchAll(
    new RegExp(`/releases/([0-9A-Za-z][0-9A-Za-z._+-]*)/${escaped}:\\d+:\\d+`, 'g'),
  ))
    found.add(m[1] as string);
  return [...found];
}

/** "../app/x.ts" or "webpack://ferry/./app/x.ts" → "app/x.ts": paths from the project root. */
export function sourcePath(source: string): string {
  return source
    .replace(/^webpack:\/\/[^/]*\//, '')
    .replace(/^(\.\.\/)+/, '')
    .replace(/^\.\//, '');
}

export function decodeTrace(text: string, entry: string, map: SourceMapLookup): DecodedTrace {
  let frames = 0;
  let mapped = 0;
  const out = text.replace(framePattern(entry), (whole, line: string, column: string) => {
    frames++;
    const l = Number(line) - 1;
    const c = Number(column) - 1;
    if (l < 0 || c < 0) return whole;
    const e = map.findEntry(l, c);
    // findEntry answers with the nearest mapping, even one on another line: only the same line counts.
    if (e.generatedLine !== l || e.originalSource === undefined || e.originalLine === undefined) return whole;
    mapped++;
    const at = `${sourcePath(e.originalSource)}:${e.originalLine + 1}:${(e.originalColumn ?? 0) + 1}`;
    return e.name ? `${at} [${e.name}]` : at;
  });
  return { text: out, frames, mapped };
}
