// The only reader of action inputs: raw inputs (over the config file) -> a validated RolloutConfig.
import * as core from '@actions/core';
import { buildConfig, type RolloutConfig, secretValues } from './core/config.js';
import { CONFIG_KEYS } from './core/config-schema.js';
import { readConfigFile } from './config-file.js';

export function readInputs(): RolloutConfig {
  const overrides: Record<string, string> = {};
  for (const key of CONFIG_KEYS) {
    if (key === 'output') continue;
    overrides[key] = core.getInput(key);
  }
  for (const secret of secretValues(overrides)) core.setSecret(secret);
  const file = readConfigFile(overrides.config);
  for (const secret of secretValues(file)) core.setSecret(secret);
  return buildConfig(file, overrides);
}
