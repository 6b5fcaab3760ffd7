// Help text: one line per command, and per command its flags with description and default (src/cli/flags.ts).
import type { Command } from '../core/config-schema.js';
import type { FlagDoc } from './flags.js';

export const COMMAND_SUMMARIES: Record<Command, string> = {
  deploy: 'build (unless --image), push, canary step by step, judge, then promote or roll back',
  build: 'build the model image and push it by digest (tagged with the commit SHA by default)',
  canary: 'apply the canary at one weight and leave it for later analyze / promote / abort',
  analyze: 'run the gates now, or over a past window (--from, --to)',
  promote: 'make the running canary the stable version',
  abort: 'remove the running canary; the stable version keeps all traffic',
  rollback: 'go back to an earlier revision (--to-revision, default the previous one)',
  status: 'show the running canary and the rollout history',
  plan: 'dry run without a cluster: the objects, replicas and gates at every step',
};

export const USAGE_LINE = 'model-canary <command> [--flag value ...]';

export const PROGRAM_FOOTER = `
Every action input is a flag: --manifests k8s/ --image reg/name@sha256:... --steps 10,50,100
A flag whose value is YAML takes @path to read it from a file (--gates @gates.yaml).
--output json prints the report JSON on stdout. Exit codes: 0 ok, 1 unexpected error, 2 bad input,
3 gate failed or rolled back, 4 inconclusive.
Run 'model-canary help <command>' or 'model-canary <command> --help' for the flags of one command.`;

/** The text after a flag in `--help`: its description, then what it accepts beyond a plain value, then the default. */
export function flagHelp(flag: FlagDoc): string {
  const extras = [
    flag.boolean ? '--flag alone means true' : undefined,
    flag.yaml ? 'YAML, or @path to read a file' : undefined,
    flag.secret ? `or MODEL_CANARY_${flag.key.toUpperCase().replace(/-/g, '_')}` : undefined,
    flag.default !== undefined ? `default: ${flag.default}` : undefined,
  ].filter((extra) => extra !== undefined);
  return [flag.description, extras.length > 0 ? `(${extras.join('; ')})` : ''].filter(Boolean).join(' ');
}
