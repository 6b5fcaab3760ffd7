// One Reporter that hands every report to several (PR comment, job summary, deployment, Grafana). They are
// best-effort and independent: one that throws or hangs on an error does not keep the others from their update.
import type { Logger, Report, Reporter } from '../core/ports.js';

export function fanOutReporters(reporters: Reporter[], logger: Logger): Reporter {
  return {
    async publish(report: Report, final: boolean): Promise<void> {
      const results = await Promise.allSettled(reporters.map((reporter) => reporter.publish(report, final)));
      for (const result of results) {
        if (result.status === 'rejected') {
          const message = result.reason instanceof Error ? result.reason.message : String(result.reason);
          logger.warn(`model-canary: a report could not be published: ${message}`);
        }
      }
    },
  };
}
