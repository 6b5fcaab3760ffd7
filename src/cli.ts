// Terminal entry: `model-canary <command> [--flag value ...]` (parsing and help in src/cli/). Flags are the action's
// inputs; the same commands run.
import { type CommandResult, systemClock } from './commands/context.js';
import { EXIT, exitCodeForError, runCommand } from './commands/run.js';
import { buildConfig } from './core/config.js';
import { SECRET_KEYS } from './core/config-schema.js';
import type { Logger } from './core/ports.js';
import { readConfigFile } from './config-file.js';
import { forJobLog } from './adapters/job-log.js';
import { guardJsonForJobLog } from './core/workflow-commands.js';
import { redactUrls } from './core/url-credentials.js';
import { parseCli, programHelp } from './cli/parse.js';

/**
 * Secrets may come as `MODEL_CANARY_<KEY>` variables (`MODEL_CANARY_MLFLOW_TOKEN`) instead of flags, so they stay out
 * of the process list and of a pipeline's spec (a Kubeflow step sets them from a Kubernetes Secret).
 */
export function secretsFromEnvironment(env: NodeJS.ProcessEnv): Record<string, string> {
  const found: Record<string, string> = {};
  for (const key of [...SECRET_KEYS, 'registry-username', 'mlflow-username']) {
    const value = env[`MODEL_CANARY_${key.toUpperCase().replace(/-/g, '_')}`];
    if (value) found[key] = value;
  }
  return found;
}

// The CLI runs in workflow steps too, where the runner reads both streams for workflow commands: what it prints
// carries outside text (container logs, events, cluster errors), so all of it goes out guarded.
const printLine = (stream: NodeJS.WriteStream, text: string) => stream.write(`${forJobLog(text)}\n`);

const stderrLogger: Logger = {
  info: (message) => printLine(process.stderr, message),
  warn: (message) => printLine(process.stderr, `warning: ${message}`),
  debug: (message) => {
    if (process.env.MODEL_CANARY_DEBUG) printLine(process.stderr, `debug: ${message}`);
  },
};

function print(result: CommandResult, json: boolean): void {
  if (json) process.stdout.write(`${guardJsonForJobLog(JSON.stringify(result.report, null, 2))}\n`);
  else printLine(process.stdout, result.text);
}

export async function main(argv: string[]): Promise<number> {
  if (argv.length === 0) {
    process.stdout.write(programHelp());
    return EXIT.badInput;
  }
  try {
    const parsed = parseCli(argv);
    if ('exit' in parsed) return parsed.exit;
    const flags: Record<string, string> = { ...parsed.flags, command: parsed.command };
    const config = buildConfig({ ...readConfigFile(flags.config), ...secretsFromEnvironment(process.env) }, flags);
    const { createServices, localRunInfo } = await import('./wiring.js');
    const services = createServices(config, { logger: stderrLogger, mask: () => undefined, run: localRunInfo() });
    const result = await runCommand({ config, logger: stderrLogger, clock: systemClock, cwd: process.cwd(), services });
    print(result, config.output === 'json');
    const rolledBack = result.exitCode === EXIT.rolledBack || result.exitCode === EXIT.inconclusive;
    if (rolledBack && !config.failOnRollback) {
      stderrLogger.warn(`${result.report.verdict} (fail-on-rollback is false, so the exit code is 0)`);
      return EXIT.ok;
    }
    return result.exitCode;
  } catch (error) {
    // Whatever failed may quote a URL with its credentials, and the terminal masks nothing.
    printLine(process.stderr, `model-canary: ${redactUrls(error instanceof Error ? error.message : String(error))}`);
    return exitCodeForError(error);
  }
}

process.exitCode = await main(process.argv.slice(2));
// The report is printed; idle keep-alive sockets of the HTTP clients must not hold the terminal.
process.exit();
