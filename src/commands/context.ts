import type { RolloutConfig } from '../core/config.js';
import type { Clock, Logger, Report } from '../core/ports.js';

/** What a command is handed: the validated config and the ports it may use. */
export interface CommandContext {
  config: RolloutConfig;
  logger: Logger;
  clock: Clock;
  cwd: string;
}

export interface CommandResult {
  report: Report;
  /** For the terminal. */
  text: string;
  /** For the job summary. */
  markdown: string;
  /** ../shared/CONTRACT.md exit codes: 0 ok, 3 rolled back / gate failed, 4 inconclusive. */
  exitCode: number;
}

export type CommandHandler = (context: CommandContext) => Promise<CommandResult>;

export const systemClock: Clock = {
  now: () => new Date(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};
