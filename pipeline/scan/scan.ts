// The credential scan that runs before anything is uploaded: a release must never carry an AccessKey, a
// private key or a .env file to the registry, where every host (and anyone with a presigned URL) reads it.
// Bundles are minified into a few enormous lines, so hits report line AND column.
import { ACCESS_KEY_ID, isDotEnvFile, PEM_PRIVATE_KEY, redact } from './patterns';

export interface ScanFile {
  path: string;
  bytes: Buffer;
}

export interface ScanHit {
  file: string;
  /** 1-based. */
  line: number;
  /** 1-based, in bytes. */
  column: number;
  rule: 'access-key-id' | 'private-key' | 'dotenv';
  message: string;
}

export function scanFiles(files: readonly ScanFile[]): ScanHit[] {
  const hits: ScanHit[] = [];
  for (const f of files) {
    if (isDotEnvFile(f.path)) {
      hits.push({
        file: f.path,
        line: 1,
        column: 1,
        rule: 'dotenv',
        message: "is a .env file; app secrets belong in the host's shared/.env, not in the release",
      });
    }
    // latin1 maps each byte to one char, so string offsets are byte offsets and nothing can fail to decode.
    const text = f.bytes.toString('latin1');
    const found: { index: number; rule: ScanHit['rule']; message: string }[] = [];
    for (const m of text.matchAll(new RegExp(ACCESS_KEY_ID.source, 'g'))) {
      found.push({
        index: m.index,
        rule: 'access-key-id',
        message: `looks like an Alibaba Cloud AccessKey id (${redact(m[0])})`,
      });
    }
    for (const m of text.matchAll(new RegExp(PEM_PRIVATE_KEY.source, 'g'))) {
      found.push({ index: m.index, rule: 'private-key', message: 'looks like a PEM private key' });
    }
    found.sort((a, b) => a.index - b.index);
    hits.push(...locate(text, found).map((h) => ({ file: f.path, ...h })));
  }
  return hits;
}

export function formatHit(h: ScanHit): string {
  return `${h.file}:${h.line}:${h.column}: ${h.message}`;
}

/** Line and column of each (sorted) offset, counting newlines once across the whole file. */
function locate<T extends { index: number }>(
  text: string,
  found: T[],
): (Omit<T, 'index'> & { line: number; column: number })[] {
  let line = 1;
  let lineStart = 0;
  let pos = 0;
  return found.map(({ index, ...rest }) => {
    for (let nl = text.indexOf('\n', pos); nl !== -1 && nl < index; nl = text.indexOf('\n', nl + 1)) {
      line++;
      lineStart = nl + 1;
    }
    pos = lineStart;
    return { ...rest, line, column: index - lineStart + 1 };
  });
}
