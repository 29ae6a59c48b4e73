// sudo rules for the deploy user, in the host's private /etc/sudoers.d (which survives reboots). A rule
// is checked by visudo before it is installed, and again with the whole configuration inside the host.
import { chmod, chown, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FleetError } from '../fleet/errors';
import { type RunResult, run } from '../fleet/exec';
import { checkSudoersName, visudoCheckArgv } from './commands';
import type { HostLayout } from './layout';

export async function installSudoers(
  layout: HostLayout,
  text: string,
  name: string,
  /** `visudo -c` inside the host, when it is up. */
  checkInside?: () => Promise<RunResult>,
): Promise<void> {
  checkSudoersName(name);
  const staged = join(layout.dir, `sudoers-${name}.staged`);
  const dest = join(layout.private.sudoersD, name);
  await writeFile(staged, text.endsWith('\n') ? text : `${text}\n`, { mode: 0o440 });
  try {
    const check = await run(visudoCheckArgv(staged));
    if (check.code !== 0) {
      throw new FleetError(
        `sudoers text for ${name} is invalid: ${(check.stderr || check.stdout).trim()}`,
        'fix the rule; `visudo -cf FILE` shows the offending line',
      );
    }
    await chown(staged, 0, 0);
    await chmod(staged, 0o440);
    // rename: sudo never reads a half-written rule.
    await rename(staged, dest);
  } finally {
    await rm(staged, { force: true });
  }
  if (!checkInside) return;
  const whole = await checkInside();
  if (whole.code !== 0) {
    await unlink(dest);
    throw new FleetError(
      `sudo's configuration is invalid with ${name}: ${(whole.stderr || whole.stdout).trim()}`,
      'fix the rule; it was removed again',
    );
  }
}
