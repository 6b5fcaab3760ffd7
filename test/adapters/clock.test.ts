import { describe, expect, it } from '@jest/globals';
import { systemClock } from '../../src/adapters/clock.js';

describe('systemClock.sleep', () => {
  it('waits its time', async () => {
    const started = Date.now();
    await systemClock.sleep(50);
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
  });

  it('ends as soon as the signal aborts, already aborted or later', async () => {
    const controller = new AbortController();
    const started = Date.now();
    const sleeping = systemClock.sleep(60_000, controller.signal);
    setTimeout(() => controller.abort(), 20);
    await sleeping;
    await systemClock.sleep(60_000, controller.signal);
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
