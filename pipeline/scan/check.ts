import { FerryError } from '../errors';
import { formatHit, type ScanFile, scanFiles } from './scan';

/** Refuses (exit 1) when any file looks like it carries a credential, naming file, line and column. */
export function assertNoCredentials(files: readonly ScanFile[], what: string): void {
  const hits = scanFiles(files);
  if (hits.length === 0) return;
  const shown = hits.slice(0, 20).map((h) => `  ${formatHit(h)}`);
  if (hits.length > shown.length) shown.push(`  … and ${hits.length - shown.length} more`);
  throw new FerryError(
    `refusing to release ${what}: it looks like it contains credentials\n${shown.join('\n')}`,
    {
      remedy:
        'remove the secret from the source (read it from the environment at runtime, e.g. the host shared/.env) and rebuild',
    },
  );
}
