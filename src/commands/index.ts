// Every command, each loaded on its first use: `plan` never loads what `deploy` or `build` need.
import type { Command } from '../core/config.js';
import type { CommandHandler } from './context.js';

const loaded = (load: () => Promise<CommandHandler>): CommandHandler => {
  let handler: Promise<CommandHandler> | undefined;
  return async (context) => (await (handler ??= load()))(context);
};

const deploy = loaded(async () => (await import('./deploy.js')).deploy);

export const COMMAND_HANDLERS: Record<Command, CommandHandler> = {
  plan: loaded(async () => (await import('./plan.js')).plan),
  deploy,
  canary: deploy,
  build: loaded(async () => (await import('./build.js')).build),
  analyze: loaded(async () => (await import('./analyze.js')).analyze),
  promote: loaded(async () => (await import('./manual.js')).promote),
  abort: loaded(async () => (await import('./manual.js')).abort),
  rollback: loaded(async () => (await import('./manual.js')).rollback),
  status: loaded(async () => (await import('./manual.js')).status),
};
