// Terminal entry: `model-canary <command> [--flag value ...]`. Flags are the action's inputs; the same commands run.
import { parseArgs } from 'node:util';
import { type CommandResult, systemClock } from './commands/context.js';
import { EXIT, exitCodeForError, runCommand } from './commands/run.js';
import { buildConfig, ConfigError } from './core/config.js';
import { COMMANDS, CONFIG_KEYS, SECRET_KEYS } from './core/config-schema.js';
import type { Logger } from './core/ports.js';
import { readConfigFile } from './config-file.js';
import { forJobLog } from './adapters/job-log.js';
import { guardJsonForJobLog } from './core/workflow-commands.js';
import { redactUrls } from './core/url-credentials.js';
import { createServices, localRunInfo } from './wiring.js';

const FLAGS_WITHOUT_VALUE = new Set([
  'dry-run',
  'comment',
  'wait-for-lease',
  'fail-on-rollback',
  'advance-on-evidence',
]);

const USAGE = `usage: model-canary <${COMMANDS.join('|')}> [--flag value ...]
Every action input is a flag (--manifests k8s/ --image reg/name@sha256:... --steps 10,50,100);
--output json prints the report JSON on stdout. See the README for every flag.`;

/** `--dry-run` alone means true, as the contract says; util.parseArgs then reads every flag as a string. */
function withImplicitTrue(args: string[]): string[] {
  return args.flatMap((arg, index) => {
    const name = arg.startsWith('--') ? arg.slice(2) : undefined;
    const next = args[index + 1];
    const hasValue = next !== undefined && !next.startsWith('--');
    return name && FLAGS_WITHOUT_VALUE.has(name) && !hasValue ? [arg, 'true'] : [arg];
  });
}

export function parseCli(argv: string[]): Record<string, string> {
  const options = Object.fromEntries(CONFIG_KEYS.map((key) => [key, { type: 'string' as const }]));
  let parsed;
  try {
    parsed = parseArgs({ args: withImplicitTrue(argv), options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new ConfigError([`${(error as Error).message.replace(/\. To specify.*$/, '')}`]);
  }
  const [command, ...extra] = parsed.positionals;
  if (extra.length > 0)
    throw new ConfigError([`unexpected argument ${JSON.stringify(extra[0])}: flags take the form --name value`]);
  const flags = Object.fromEntries(Object.entries(parsed.values).filter(([, v]) => typeof v === 'string')) as Record<
    string,
    string
  >;
  return command ? { ...flags, command } : flags;
}

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
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return argv.length === 0 ? EXIT.badInput : EXIT.ok;
  }
  try {
    const flags = parseCli(argv);
    if (!flags.command) throw new ConfigError([`command: missing: ${USAGE.split('\n')[0]}`]);
    const config = buildConfig({ ...readConfigFile(flags.config), ...secretsFromEnvironment(process.env) }, flags);
    const services = createServices(config, { logger: stderrLogger, mask: () => undefined, run: localRunInfo() });
    const result = await runCommand({ config, logger: stderrLogger, clock: systemClock, cwd: process.cwd(), services });
    print(result, config.output === 'json');
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
