import { describe, expect, it } from '@jest/globals';
import type { Report, Reporter } from '../../src/core/ports.js';
import { fanOutReporters } from '../../src/engine/report-fan-out.js';

const report: Report = { command: 'deploy', model: 'm', namespace: 'ns', verdict: 'promoted', gates: [], steps: [] };

describe('fanOutReporters', () => {
  it('publishes to every reporter even when one throws, and warns about that one', async () => {
    const seen: string[] = [];
    const warnings: string[] = [];
    const ok = (name: string): Reporter => ({
      publish: async (_report, final) => {
        seen.push(`${name}:${final}`);
      },
    });
    const broken: Reporter = {
      publish: async () => {
        throw new Error('comment API down');
      },
    };
    const fanOut = fanOutReporters([ok('a'), broken, ok('b')], {
      warn: (m) => warnings.push(m),
      info: () => undefined,
      debug: () => undefined,
    });
    await expect(fanOut.publish(report, true)).resolves.toBeUndefined();
    expect(seen).toEqual(['a:true', 'b:true']);
    expect(warnings).toEqual(['model-canary: a report could not be published: comment API down']);
  });
});
