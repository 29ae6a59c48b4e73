// Upload progress: a bar on a terminal, a few plain lines in CI logs (a redrawn bar there is noise).
import cliProgress from 'cli-progress';
import { formatBytes, type Io } from './io';

export interface Progress {
  update(done: number, total: number): void;
  stop(): void;
}

export function createProgress(io: Io, label: string, enabled = true): Progress {
  if (!enabled) return { update: () => undefined, stop: () => undefined };
  if (io.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        format: `${label} [{bar}] {percentage}% {doneText}/{totalText}`,
        stream: io.stderr as unknown as NodeJS.WritableStream,
        hideCursor: true,
        clearOnComplete: false,
      },
      cliProgress.Presets.shades_classic,
    );
    let state: 'idle' | 'running' | 'stopped' = 'idle';
    const stop = () => {
      if (state === 'running') bar.stop();
      state = 'stopped';
    };
    return {
      update(done, total) {
        if (state === 'stopped') return;
        const payload = { doneText: formatBytes(done), totalText: formatBytes(total) };
        if (state === 'idle') {
          bar.start(total, done, payload);
          state = 'running';
        } else bar.update(done, payload);
        // Finish the bar's line now: the next messages must not be drawn over by it.
        if (done >= total) stop();
      },
      stop,
    };
  }
  // Plain lines at 0/25/50/75/100 %.
  let nextStep = 0;
  return {
    update(done, total) {
      const pct = total === 0 ? 100 : Math.floor((done / total) * 100);
      if (pct < nextStep) return;
      io.stderr.write(`${label}: ${pct}% (${formatBytes(done)} of ${formatBytes(total)})\n`);
      nextStep = Math.min(100, Math.floor(pct / 25) * 25 + 25);
      if (pct >= 100) nextStep = 101;
    },
    stop() {},
  };
}
