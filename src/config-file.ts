// The optional config file: `config` when given, else .github/model-canary.yml when present.
import { existsSync, readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { ConfigError, type RawSettings } from './core/config.js';

export const DEFAULT_CONFIG_FILE = '.github/model-canary.yml';

export function readConfigFile(explicit: string | undefined, cwd = process.cwd()): RawSettings {
  const path = explicit || DEFAULT_CONFIG_FILE;
  const full = path.startsWith('/') ? path : `${cwd}/${path}`;
  if (!existsSync(full)) {
    if (explicit) throw new ConfigError([`config: file not found (got "${explicit}")`]);
    return {};
  }
  let value: unknown;
  try {
    value = parse(readFileSync(full, 'utf8'));
  } catch (error) {
    throw new ConfigError([`config: ${path} is not valid YAML: ${(error as Error).message.split('\n')[0]}`]);
  }
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError([`config: ${path} must be a mapping of settings (key: value)`]);
  }
  return value as RawSettings;
}
