// action.yml's `default:` lines are what the runner passes when a workflow sets nothing: each must do exactly what
// leaving the input empty does, come from the config's own defaults, and show in the README's inputs table.
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { buildConfig, type RawSettings } from '../src/core/config.js';
import { EXPRESSION_DEFAULTS, INPUT_DEFAULTS, withoutActionDefaults } from '../src/core/input-defaults.js';
import { inputsTable, withActionDefaults } from '../scripts/docs.js';

const actionYaml = readFileSync('action.yml', 'utf8');
const action = parse(actionYaml) as { inputs: Record<string, { default?: unknown }> };
const actionDefaults = Object.fromEntries(
  Object.entries(action.inputs).flatMap(([name, input]) =>
    input.default === undefined ? [] : [[name, input.default]],
  ),
);

/** Settings every command accepts, so a default is compared on a config that builds. */
const BASE: RawSettings = {
  manifests: 'k8s/',
  image: 'r.io/models/churn:1',
  'prometheus-url': 'http://localhost:9090',
};

describe('action.yml defaults', () => {
  it('are exactly the config defaults (INPUT_DEFAULTS), as strings, plus the github.token expression', () => {
    expect(actionDefaults).toEqual({ ...INPUT_DEFAULTS, ...EXPRESSION_DEFAULTS });
    for (const value of Object.values(actionDefaults)) expect(typeof value).toBe('string');
  });

  it('are what scripts/docs.ts writes (npm run docs)', () => {
    expect(withActionDefaults(actionYaml)).toBe(actionYaml);
  });

  it.each(Object.entries(INPUT_DEFAULTS))('%s: %s does what an empty input does', (key, value) => {
    for (const command of ['deploy', 'plan', 'build', 'analyze']) {
      const settings = { ...BASE, registry: 'r.io', repository: 'models/churn', command };
      const given = key === 'command' ? { ...settings, command: undefined } : settings;
      if (key === 'command' && command !== 'deploy') continue;
      expect(buildConfig({}, { ...given, [key]: value })).toEqual(buildConfig({}, { ...given, [key]: '' }));
    }
  });

  it('a default equal to the built-in one still lets other settings decide (look-every under scrape-interval)', () => {
    const settings = { ...BASE, 'scrape-interval': '30s', interval: '5m' };
    expect(buildConfig({}, { ...settings, 'look-every': INPUT_DEFAULTS['look-every'] })).toEqual(
      buildConfig({}, settings),
    );
  });

  it('none for inputs whose emptiness means "work it out"', () => {
    for (const key of [
      'builder',
      'registry-auth',
      'prometheus-auth',
      'dockerfile',
      'weight',
      'max-step-duration',
      'namespace',
      'tags',
      'gates',
      'model-path',
    ]) {
      expect(actionDefaults[key]).toBeUndefined();
    }
  });

  it("a default the runner passes does not override the config file's value", () => {
    const file = { steps: [5, 100], interval: '2m', comment: false, command: 'plan' };
    const inputs = withoutActionDefaults({ ...BASE, ...INPUT_DEFAULTS });
    const config = buildConfig(file, inputs);
    expect(config).toMatchObject({ command: 'plan', steps: [5, 100], intervalMs: 120_000 });
    expect(config.github.comment).toBe(false);
    // Without a file, the same inputs give the built-in defaults.
    expect(buildConfig({}, inputs)).toEqual(buildConfig({}, BASE));
  });

  it('show in the README inputs table', () => {
    const table = inputsTable(actionYaml);
    expect(table).toContain(
      '| `steps` | Canary weights in percent, rising, ending at 100 or below, e.g. 10,25,50,100. | `10,25,50,100` |',
    );
    expect(table).toMatch(/\| `interval` \| .* \| `1m` \|/);
    expect(readFileSync('README.md', 'utf8')).toContain(table);
  });
});
