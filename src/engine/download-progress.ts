// A progress line for the job log every few seconds while a model downloads (all files together), so a long
// download is visibly alive; the clock is passed in.

const MiB = 1 << 20;

export interface ProgressLog {
  onProgress: (path: string, received: number, total: number | undefined) => void;
  /** The last line, whatever the interval: call it when the download ends. */
  finish(): void;
}

export function downloadProgressLog(
  log: (line: string) => void,
  options: { label: string; everyMs?: number; now?: () => number },
): ProgressLog {
  const now = options.now ?? Date.now;
  const everyMs = options.everyMs ?? 5000;
  const files = new Map<string, { received: number; total?: number }>();
  const started = now();
  let lastLine = started;
  const line = (): string => {
    let received = 0;
    let total = 0;
    let totalKnown = true;
    for (const file of files.values()) {
      received += file.received;
      if (file.total === undefined) totalKnown = false;
      else total += file.total;
    }
    const seconds = Math.max((now() - started) / 1000, 0.001);
    const share = totalKnown && total > 0 ? ` of ${mib(total)} (${Math.floor((received / total) * 100)}%)` : '';
    return `${options.label}: ${mib(received)}${share} in ${files.size} file(s), ${mib(received / seconds)}/s`;
  };
  return {
    onProgress: (path, received, total) => {
      files.set(path, { received, total });
      if (now() - lastLine >= everyMs) {
        lastLine = now();
        log(line());
      }
    },
    finish: () => log(line()),
  };
}

function mib(bytes: number): string {
  return `${(bytes / MiB).toFixed(1)} MiB`;
}
