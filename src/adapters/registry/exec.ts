// Running tools (docker, az) through @actions/exec: output captured, exit code returned, env passed down.
import { getExecOutput } from '@actions/exec';

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export type Exec = (command: string, args: string[], options?: { input?: string }) => Promise<ExecResult>;

/** `env` is added to the process environment (DOCKER_HOST, DOCKER_CONFIG, ...). */
export function actionsExec(env: Record<string, string> = {}, echo = false): Exec {
  return async (command, args, options = {}) => {
    const result = await getExecOutput(command, args, {
      env: { ...(process.env as Record<string, string>), ...env },
      ignoreReturnCode: true,
      silent: !echo,
      input: options.input !== undefined ? Buffer.from(options.input) : undefined,
    });
    return { exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr };
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
