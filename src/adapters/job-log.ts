// What the action and the CLI print, made safe for a job log the GitHub runner reads for workflow commands.
import { randomUUID } from 'node:crypto';
import { guardWorkflowCommands } from '../core/workflow-commands.js';

/** `text` with any workflow command in it inert, behind a fresh unguessable token (see core/workflow-commands). */
export const forJobLog = (text: string): string => guardWorkflowCommands(text, () => randomUUID().replace(/-/g, ''));
