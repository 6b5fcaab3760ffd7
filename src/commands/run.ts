import { ConfigError } from '../core/config.js';
import { ManifestError } from '../core/manifests.js';
import type { CommandContext, CommandResult } from './context.js';
import { COMMAND_HANDLERS } from './index.js';
import { EXIT } from './exit-codes.js';
import { PreflightError } from '../engine/preflight-error.js';
import { checkInputs } from './check-inputs.js';

export { EXIT } from './exit-codes.js';

/** Bad input (config, flags, manifests) exits 2; anything unexpected 1. */
export function exitCodeForError(error: unknown): number {
  const badInput = error instanceof ConfigError || error instanceof ManifestError || error instanceof PreflightError;
  return badInput ? EXIT.badInput : EXIT.error;
}

/** Checks the inputs that name files (a ConfigError, exit 2, when one is missing), then runs the command. */
export async function runCommand(context: CommandContext): Promise<CommandResult> {
  await checkInputs(context.config, context.cwd);
  return COMMAND_HANDLERS[context.config.command](context);
}
