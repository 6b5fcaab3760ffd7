// A discrete-event clock for engine tests: `sleep` queues a wake-up, and whenever the process has nothing else to do
// (the next macrotask) virtual time jumps to the earliest wake-up. A 60 s step then takes microseconds, and the
// order of wake-ups (the rollout's looks, the Lease renewals) is the order real time would give.
// Only for code whose I/O resolves without real sockets (in-memory adapters): pending socket reads are not seen.
import type { Clock } from '../../src/core/ports.js';

interface Sleeper {
  wakeAt: number;
  resolve: () => void;
}

export class VirtualClock implements Clock {
  private time: number;
  private readonly sleepers: Sleeper[] = [];
  private scheduled = false;

  constructor(start = Date.UTC(2026, 11, 1, 10)) {
    this.time = start;
  }

  now(): Date {
    return new Date(this.time);
  }

  monotonicMs(): number {
    return this.time;
  }

  /** Milliseconds of virtual time since `since`. */
  elapsedSince(since: Date): number {
    return this.time - since.getTime();
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const aborted = () => {
        const index = this.sleepers.indexOf(sleeper);
        if (index >= 0) this.sleepers.splice(index, 1);
        resolve();
      };
      // A sleep that ends on time lets go of the signal, as the system clock's does: long-lived signals see many.
      const woken = () => {
        signal?.removeEventListener('abort', aborted);
        resolve();
      };
      const sleeper: Sleeper = { wakeAt: this.time + Math.max(0, ms), resolve: woken };
      this.sleepers.push(sleeper);
      signal?.addEventListener('abort', aborted, { once: true });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.wakeEarliest();
    });
  }

  private wakeEarliest(): void {
    if (this.sleepers.length === 0) return;
    this.sleepers.sort((a, b) => a.wakeAt - b.wakeAt);
    const next = this.sleepers.shift() as Sleeper;
    this.time = Math.max(this.time, next.wakeAt);
    next.resolve();
    if (this.sleepers.length > 0) this.schedule();
  }
}
