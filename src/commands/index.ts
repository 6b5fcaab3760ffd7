import type { Command } from '../core/config.js';
import type { CommandHandler } from './context.js';
import { plan } from './plan.js';

const notYet =
  (command: Command): CommandHandler =>
  async () => {
    throw new Error(`the '${command}' command is not implemented yet in this version of model-canary`);
  };

export const COMMAND_HANDLERS: Record<Command, CommandHandler> = {
  plan,
  deploy: notYet('deploy'),
  build: notYet('build'),
  canary: notYet('canary'),
  analyze: notYet('analyze'),
  promote: notYet('promote'),
  abort: notYet('abort'),
  rollback: notYet('rollback'),
  status: notYet('status'),
};
