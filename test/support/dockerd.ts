// A real dockerd for tests, all of its state in a temp dir: vfs storage, no iptables, no bridge, own socket.
// Needs root. Nothing can be pulled from the internet here: build FROM scratch or load images.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { requireBinary, sleep, startProcess, tempDir } from './local.js';

export interface TestDockerd {
  /** DOCKER_HOST and DOCKER_CONFIG for the docker CLI. */
  env: Record<string, string>;
  stop(): Promise<void>;
}

export interface DockerdOptions {
  /** The daemon's environment on top of this process's (e.g. HTTPS_PROXY for registry traffic). */
  env?: Record<string, string>;
  /** More daemon flags (e.g. --insecure-registry). */
  args?: string[];
}

export async function startDockerd(timeoutMs = 30000, options: DockerdOptions = {}): Promise<TestDockerd> {
  requireBinary('dockerd');
  requireBinary('docker');
  if (process.getuid?.() !== 0) throw new Error('dockerd tests need root (dockerd cannot run rootless here)');
  const dir = tempDir('dockerd');
  const socket = join(dir.path, 'docker.sock');
  const daemon = startProcess('dockerd', [
    '--storage-driver=vfs', '--iptables=false', '--ip6tables=false', '--bridge=none',
    '--data-root', join(dir.path, 'root'), '--exec-root', join(dir.path, 'exec'),
    '-H', `unix://${socket}`, '--pidfile', join(dir.path, 'pid'), ...(options.args ?? []),
  ], { ...process.env, ...options.env }); // prettier-ignore
  const env = { DOCKER_HOST: `unix://${socket}`, DOCKER_CONFIG: join(dir.path, 'config') };
  const stop = async (): Promise<void> => {
    await daemon.stop();
    dir.remove();
  };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      execFileSync('docker', ['version'], { env: { ...process.env, ...env }, stdio: 'ignore' });
      return { env, stop };
    } catch {
      if (Date.now() > deadline || daemon.child.exitCode !== null) {
        const output = daemon.output();
        await stop();
        throw new Error(`dockerd did not start in ${timeoutMs} ms:\n${output.slice(-3000)}`);
      }
      await sleep(200);
    }
  }
}
