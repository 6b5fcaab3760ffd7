import type { Command } from '../core/config.js';
import { analyze } from './analyze.js';
import { build } from './build.js';
import type { CommandHandler } from './context.js';
import { deploy } from './deploy.js';
import { abort, promote, rollback, status } from './manual.js';
import { plan } from './plan.js';

export const COMMAND_HANDLERS: Record<Command, CommandHandler> = {
  plan,
  deploy,
  canary: deploy,
  build,
  analyze,
  promote,
  abort,
  rollback,
  status,
};
