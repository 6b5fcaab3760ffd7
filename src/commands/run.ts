import { ConfigError } from '../core/config.js';
import { ManifestError } from '../core/manifests.js';
import type { CommandContext, CommandResult } from './context.js';
import { COMMAND_HANDLERS } from './index.js';

export const EXIT = { ok: 0, error: 1, badInput: 2, rolledBack: 3, inconclusive: 4 } as const;

/** Bad input (config, flags, manifests) exits 2; anything unexpected 1. */
export function exitCodeForError(error: unknown): number {
  return error instanceof ConfigError || error instanceof ManifestError ? EXIT.badInput : EXIT.error;
}

export function runCommand(context: CommandContext): Promise<CommandResult> {
  return COMMAND_HANDLERS[context.config.command](context);
}
