// Running tools (docker, az) through @actions/exec: output captured, exit code returned, env passed down.
import { forJobLog } from '../job-log.js';

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export type Exec = (command: string, args: string[], options?: { input?: string }) => Promise<ExecResult>;

/**
 * `env` is added to the process environment (DOCKER_HOST, DOCKER_CONFIG, ...). With `echo`, the tool's own output
 * (docker's build log) goes to stderr line by line, guarded against workflow commands; never the
 * `[command]/usr/bin/docker ...` line @actions/exec would print, and never stdout, which holds the CLI's report.
 */
export function actionsExec(
  env: Record<string, string> = {},
  echo = false,
  write: (text: string) => void = (text) => process.stderr.write(text),
): Exec {
  return async (command, args, options = {}) => {
    const out = echo ? lineWriter(write) : undefined;
    const err = echo ? lineWriter(write) : undefined;
    try {
      // Loaded on the first tool run: most commands never start one.
      const { getExecOutput } = await import('@actions/exec');
      const result = await getExecOutput(command, args, {
        env: { ...(process.env as Record<string, string>), ...env },
        ignoreReturnCode: true,
        silent: true,
        input: options.input !== undefined ? Buffer.from(options.input) : undefined,
        ...(out && err ? { listeners: { stdout: out.push, stderr: err.push } } : {}),
      });
      return { exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr };
    } finally {
      out?.flush();
      err?.flush();
    }
  };
}

/** Whole lines of a stream's chunks to `write`, each through forJobLog; `flush` writes the unfinished last line. */
export function lineWriter(write: (text: string) => void): { push: (chunk: Buffer) => void; flush: () => void } {
  let pending = '';
  const emit = (line: string) => write(`${forJobLog(line)}\n`);
  return {
    push: (chunk) => {
      const lines = (pending + chunk.toString('utf8')).split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) emit(line.replace(/\r$/, ''));
    },
    flush: () => {
      if (pending !== '') emit(pending);
      pending = '';
    },
  };
}

/** As a CommandRunner: stdout, or an error with the tool's own message (first lines of stderr). */
export function commandRunner(exec: Exec): (command: string, args: string[], input?: string) => Promise<string> {
  return async (command, args, input) => {
    const result = await exec(command, args, input !== undefined ? { input } : {});
    if (result.exitCode !== 0) {
      const why = result.stderr.trim().split('\n').slice(-3).join(' ') || `exit code ${result.exitCode}`;
      throw new Error(`${command} ${args[0] ?? ''} failed: ${why}`);
    }
    return result.stdout;
  };
}
