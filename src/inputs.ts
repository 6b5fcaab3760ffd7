// The only reader of action inputs: raw inputs (over the config file) -> a validated RolloutConfig.
import * as core from '@actions/core';
import { buildConfig, type RolloutConfig, secretValues } from './core/config.js';
import { CONFIG_KEYS } from './core/config-schema.js';
import { readConfigFile } from './config-file.js';
import { withoutActionDefaults } from './core/input-defaults.js';

export function readInputs(): RolloutConfig {
  const overrides: Record<string, string> = {};
  for (const key of CONFIG_KEYS) {
    if (key === 'output' || key === 'show-objects') continue;
    overrides[key] = core.getInput(key);
  }
  for (const secret of secretValues(overrides)) core.setSecret(secret);
  const file = readConfigFile(overrides.config);
  for (const secret of secretValues(file)) core.setSecret(secret);
  // The runner passes action.yml's defaults as if the user had typed them: they must not beat the config file.
  return buildConfig(file, withoutActionDefaults(overrides));
}
