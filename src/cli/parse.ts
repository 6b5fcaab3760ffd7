// argv -> the command and its flags (strings, as the action's inputs are), with commander: per-command --help from
// the schema, --version, "did you mean" for commands and flags, values that begin with '-', and @path for YAML flags.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command as Program, CommanderError, Option } from 'commander';
import { ConfigError } from '../core/config.js';
import { type Command, COMMANDS } from '../core/config-schema.js';
import { didYouMean } from '../core/suggest.js';
import { type FlagDoc, flagDocs, flagsOf } from './flags.js';
import { COMMAND_SUMMARIES, flagHelp, PROGRAM_FOOTER, USAGE_LINE } from './help.js';

/** Set by the bundler (scripts/build.mjs) to package.json's version; unbundled (tsx, jest), read from package.json. */
declare const MODEL_CANARY_VERSION: string | undefined;

export const VERSION: string =
  typeof MODEL_CANARY_VERSION === 'string'
    ? MODEL_CANARY_VERSION
    : (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** Either the command to run with its flags, or an exit code when help or the version was printed. */
export type ParsedCli = { command: Command; flags: Record<string, string> } | { exit: number };

export interface ParseOptions {
  cwd?: string;
  /** Where help and the version go (stdout). */
  write?: (text: string) => void;
}

const isCommand = (word: string): word is Command => (COMMANDS as readonly string[]).includes(word);

/**
 * The program; only `withFlags` gets its ~70 options (building them for all nine commands was a third of the start),
 * the others just their line in the overview.
 */
function program(
  write: (text: string) => void,
  found: (command: Command, sub: Program) => void,
  withFlags?: Command,
): Program {
  const root = new Program('model-canary')
    .usage('<command> [--flag value ...]')
    .description('Deliver ML models to Kubernetes safely: build, push by digest, canary, judge, promote or roll back.')
    .version(VERSION, '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .helpCommand(false)
    // Every command takes flags, whether or not this run built them.
    .configureHelp({ styleTitle: (title) => title.toLowerCase(), subcommandTerm: (sub) => `${sub.name()} [options]` })
    .configureOutput({ writeOut: write, writeErr: () => undefined, outputError: () => undefined })
    .showSuggestionAfterError(false)
    .exitOverride()
    .addHelpText('after', PROGRAM_FOOTER);
  for (const name of COMMANDS) {
    const sub = root.command(name).description(COMMAND_SUMMARIES[name]).usage('[--flag value ...]');
    sub.action(() => found(name, sub));
    if (name !== withFlags) continue;
    const own = new Set(flagsOf(name).map((flag) => flag.key));
    for (const flag of flagDocs()) {
      // A required value is taken even when it begins with '-' (a YAML list, a negative number).
      const option = new Option(flag.boolean ? `--${flag.key} [true|false]` : `--${flag.key} <value>`, flagHelp(flag));
      // Every input is a flag of every command (scripts pass one set to all); help lists the command's own.
      sub.addOption(own.has(flag.key) ? option : option.hideHelp());
    }
  }
  return root;
}

function quoted(message: string): string | undefined {
  return /'([^']+)'/.exec(message)?.[1];
}

/** Commander's errors as the config errors the CLI reports (exit 2), with the near name when there is one. */
function inputError(error: CommanderError, argv: string[]): ConfigError {
  const command = argv.find(isCommand);
  switch (error.code) {
    case 'commander.unknownCommand': {
      const typed = quoted(error.message) ?? argv[0] ?? '';
      return new ConfigError([
        `command: must be one of ${COMMANDS.join(', ')} (got '${typed}')${didYouMean(typed, COMMANDS).replace(/^ /, ': ')}`,
      ]);
    }
    case 'commander.unknownOption': {
      const typed = (quoted(error.message) ?? '').split('=')[0] as string;
      const own = command ? flagsOf(command).map((flag) => `--${flag.key}`) : [];
      const elsewhere = flagDocs().find((flag) => `--${flag.key}` === typed);
      const why = command && elsewhere?.commands ? ` (used by ${elsewhere.commands.join(', ')}, not '${command}')` : '';
      if (!command && elsewhere) {
        return new ConfigError([
          `'${typed}' needs a command before it: model-canary <${COMMANDS.join('|')}> ${typed} ...`,
        ]);
      }
      if (command && own.includes(typed)) {
        return new ConfigError([
          `'${typed}' comes before the command: flags go after it (model-canary ${command} ${typed} ...)`,
        ]);
      }
      const near = didYouMean(typed, [...own, '--help']);
      return new ConfigError([
        `Unknown option '${typed}'${why}${near.replace(/^ /, ': ')}${command ? ` (see model-canary ${command} --help)` : ''}`,
      ]);
    }
    case 'commander.optionMissingArgument': {
      const flag = /'(--[a-z-]+)/.exec(error.message)?.[1] ?? 'the option';
      return new ConfigError([`${flag.replace(/^--/, '')}: ${flag} needs a value`]);
    }
    case 'commander.excessArguments':
      return new ConfigError([
        `unexpected argument ${JSON.stringify(argv.find((arg, i) => i > 0 && !arg.startsWith('-')) ?? '')}: flags take the form --name value`,
      ]);
    default:
      return new ConfigError([error.message.replace(/^error: /, '')]);
  }
}

/** `--gates @gates.yaml`: a YAML-valued flag read from a file, relative to the working directory. */
function readAtFile(flag: FlagDoc, value: string, cwd: string): string {
  const path = value.slice(1);
  const full = resolve(cwd, path);
  if (path === '' || !existsSync(full) || !statSync(full).isFile()) {
    throw new ConfigError([`${flag.key}: file not found: ${path || '(empty path)'} (from --${flag.key} ${value})`]);
  }
  try {
    return readFileSync(full, 'utf8');
  } catch (error) {
    throw new ConfigError([`${flag.key}: cannot read ${path}: ${(error as Error).message}`]);
  }
}

export function parseCli(argv: string[], options: ParseOptions = {}): ParsedCli {
  const write = options.write ?? ((text: string) => process.stdout.write(text));
  const cwd = options.cwd ?? process.cwd();
  let chosen: { command: Command; sub: Program } | undefined;
  // The command is the first word (`help <command>`: the second); a flag before it is an error that names it.
  const named = (argv[0] === 'help' ? argv.slice(1, 2) : argv).find(isCommand);
  const root = program(write, (command, sub) => (chosen = { command, sub }), named);

  if (argv[0] === 'help') {
    const [, topic, ...rest] = argv;
    if (topic === undefined) {
      write(root.helpInformation());
      return { exit: 0 };
    }
    if (rest.length > 0) throw new ConfigError([`help: takes one command (got '${argv.slice(1).join(' ')}')`]);
    if (!isCommand(topic)) {
      const near = didYouMean(topic, COMMANDS).replace(/^ /, ': ');
      throw new ConfigError([`help: no command '${topic}'${near} (commands: ${COMMANDS.join(', ')})`]);
    }
    const sub = root.commands.find((command) => command.name() === topic) as Program;
    write(sub.helpInformation());
    return { exit: 0 };
  }
  try {
    root.parse(argv, { from: 'user' });
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    if (error.exitCode === 0) return { exit: 0 }; // help or version, printed
    throw inputError(error, argv);
  }
  if (!chosen) throw new ConfigError([`command: missing: usage: ${USAGE_LINE}`]);
  const { command, sub } = chosen;
  const flags: Record<string, string> = {};
  for (const flag of flagDocs()) {
    const value: unknown = sub.getOptionValue(new Option(`--${flag.key}`).attributeName());
    if (value === undefined) continue;
    const text = value === true ? 'true' : String(value);
    flags[flag.key] = flag.yaml && text.startsWith('@') ? readAtFile(flag, text, cwd) : text;
  }
  return { command, flags };
}

/** The overview, for `model-canary` with no arguments. */
export function programHelp(): string {
  return program(
    () => undefined,
    () => undefined,
  ).helpInformation();
}
