// How each flag's help is computed: from the config schema (src/core/config-schema.ts) and the action's metadata
// (action.yml's inputs), so `--help` and the action's inputs never drift apart. `npm run docs` writes the result to
// src/cli/flag-docs.json, which the CLI reads at start (computing it there cost ~20 ms of every run); `--check` in CI
// fails when it is stale.
import * as z from 'zod';
import { type Command, type ConfigKey, CONFIG_KEYS, configFileSchema, SECRET_KEYS } from '../core/config-schema.js';
import { INPUT_DEFAULTS } from '../core/input-defaults.js';
import type { FlagDoc } from './flags.js';

const BUILDS: readonly Command[] = ['build', 'deploy', 'canary', 'plan'];
const STEPS: readonly Command[] = ['deploy', 'canary', 'plan'];
const JUDGES: readonly Command[] = ['deploy', 'canary', 'analyze', 'plan'];

/**
 * The commands whose help lists a flag, for the flags that belong to some commands only; a flag not named here is
 * listed for every command. Erring wide: a flag listed where it does nothing misleads less than one left out.
 */
export const FLAG_COMMANDS: Partial<Record<ConfigKey, readonly Command[]>> = {
  ...Object.fromEntries(
    (
      [
        'registry',
        'repository',
        'tags',
        'builder',
        'context',
        'dockerfile',
        'build-args',
        'platforms',
        'model-path',
        'base-image',
        'model-source',
        'azureml-workspace',
        'azureml-resource-group',
        'azureml-subscription',
        'mlflow-tracking-uri',
        'mlflow-token',
        'mlflow-username',
        'mlflow-password',
        'registry-auth',
        'registry-username',
        'registry-password',
      ] as const
    ).map((key) => [key, BUILDS]),
  ),
  ...Object.fromEntries(
    (['steps', 'look-every', 'min-step-duration', 'max-step-duration', 'advance-on-evidence'] as const).map((key) => [
      key,
      STEPS,
    ]),
  ),
  ...Object.fromEntries(
    (
      [
        'gates',
        'metrics',
        'alpha',
        'expected-rps',
        'failure-limit',
        'inconclusive-limit',
        'consecutive-error-limit',
        'on-inconclusive',
        'scrape-interval',
        'power',
        'prometheus-url',
        'prometheus-auth',
        'prometheus-token',
      ] as const
    ).map((key) => [key, JUDGES]),
  ),
  // analyze judges over the last `interval` when no from/to is given.
  interval: [...STEPS, 'analyze'],
  weight: ['canary', 'plan'],
  from: ['analyze'],
  to: ['analyze'],
  'to-revision': ['rollback'],
  'show-objects': ['plan'],
};

/** Flags of the CLI alone, which action.yml (the inputs' descriptions) does not list. */
const CLI_ONLY: Partial<Record<ConfigKey, ActionInput>> = {
  output: { description: 'text, or json: the report JSON on stdout.', default: 'text' },
  'show-objects': { description: 'plan text: print every object at every step.', default: 'false' },
};

type JsonSchema = {
  type?: string | string[];
  anyOf?: JsonSchema[];
  description?: string;
  default?: unknown;
  commands?: unknown;
};

const types = (schema: JsonSchema): string[] => [
  ...(Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : []),
  ...(schema.anyOf ?? []).flatMap(types),
];

export interface ActionInput {
  description?: string;
  default?: unknown;
}

const shown = (value: unknown): string | undefined =>
  value === undefined || value === null || value === ''
    ? undefined
    : Array.isArray(value)
      ? value.join(',')
      : String(value);

/** Every flag (every config key but `command`), given action.yml's inputs. */
export function computeFlagDocs(inputs: Record<string, ActionInput>): FlagDoc[] {
  const shape = configFileSchema.shape as Record<string, z.ZodType>;
  return CONFIG_KEYS.filter((key) => key !== 'command').map((key) => {
    const schema = z.toJSONSchema(shape[key] as z.ZodType, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
    const kinds = types(schema);
    const commands = Array.isArray(schema.commands) ? (schema.commands as Command[]) : FLAG_COMMANDS[key];
    const input = inputs[key] ?? CLI_ONLY[key] ?? {};
    const doc: FlagDoc = {
      key,
      description: (schema.description ?? input.description ?? '').trim(),
      boolean: kinds.includes('boolean'),
      yaml: kinds.length > 0 && !kinds.includes('string'),
      secret: SECRET_KEYS.includes(key),
    };
    const given = shown(schema.default ?? (INPUT_DEFAULTS as Record<string, string>)[key] ?? input.default);
    // `${{ github.token }}` and the like are the runner's, not the CLI's.
    if (given !== undefined && !given.includes('${{')) doc.default = given;
    if (commands) doc.commands = commands;
    return doc;
  });
}
