// The job summary: the final report appended to the file `GITHUB_STEP_SUMMARY` names (what core.summary does),
// so a matrix of models each adds its own section. Only the final publish writes: the summary is not live.
import { appendFile } from 'node:fs/promises';
import type { Logger, Report, Reporter } from '../core/ports.js';
import type { RenderContext } from '../core/report-markdown.js';
import { renderSummary } from '../core/render-summary.js';

export interface SummaryOptions {
  /** The file to append to: `process.env.GITHUB_STEP_SUMMARY`. */
  path: string;
  logger: Logger;
  now?: () => number;
  /** Links and facts shown besides the report (see `runRenderContext` in github.ts). */
  render?: Omit<RenderContext, 'running' | 'now'>;
}

export class JobSummaryReporter implements Reporter {
  constructor(private readonly options: SummaryOptions) {}

  async publish(report: Report, final: boolean): Promise<void> {
    if (!final) return;
    const now = new Date((this.options.now ?? Date.now)());
    const markdown = renderSummary(report, { ...this.options.render, running: false, now });
    try {
      await appendFile(this.options.path, markdown);
    } catch (error) {
      this.options.logger.warn(
        `model-canary: could not write the job summary to ${this.options.path}: ${(error as Error).message}`,
      );
    }
  }
}
