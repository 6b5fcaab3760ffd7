// Long waits say what they wait for at the default log level: readiness lines (when they change, else every 10 s),
// and docker's output line by line without @actions/exec's `[command]...` echo.
import { describe, expect, it } from '@jest/globals';
import { readinessLine, readinessProgress } from '../src/adapters/kubernetes/cluster.js';
import { actionsExec, lineWriter } from '../src/adapters/registry/exec.js';
import type { Clock, KubeObject, Logger } from '../src/core/ports.js';

function recorder(): Logger & { info_: string[]; debug_: string[] } {
  const info_: string[] = [];
  const debug_: string[] = [];
  return { info_, debug_, info: (m) => info_.push(m), warn: (m) => info_.push(m), debug: (m) => debug_.push(m) };
}

function manualClock(): Clock & { advance(ms: number): void } {
  let now = 0;
  return {
    now: () => new Date(now),
    monotonicMs: () => now,
    sleep: async (ms) => void (now += ms),
    advance: (ms) => void (now += ms),
  };
}

const pod = (name: string, status: Record<string, unknown>): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'ml' },
  status,
});

describe('readiness progress', () => {
  it('names the pods that hold the rollout up, and how many of how many are ready', () => {
    const deployment: KubeObject = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'churn-canary', namespace: 'ml' },
      spec: { replicas: 2 },
      status: { readyReplicas: 1 },
    };
    const ready = pod('churn-canary-a', { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] });
    const creating = pod('churn-canary-x', {
      phase: 'Pending',
      containerStatuses: [{ name: 'model', state: { waiting: { reason: 'ContainerCreating' } } }],
    });
    expect(readinessLine('churn-canary', deployment, [ready, creating], 'ml/churn-canary: 1 of 2 available')).toBe(
      'churn-canary 1/2 ready: pod churn-canary-x ContainerCreating',
    );
    expect(
      readinessLine(
        'churn-canary',
        deployment,
        [ready],
        'Deployment ml/churn-canary: 1 of 2 updated replicas available',
      ),
    ).toBe('churn-canary 1/2 ready: 1 of 2 updated replicas available');
  });

  it('logs at info when the line changes, else at most every 10 s (the rest at debug)', () => {
    const clock = manualClock();
    const logger = recorder();
    const progress = readinessProgress(clock, logger);
    progress('a 0/1 ready: pod a-1 ContainerCreating');
    clock.advance(2000);
    progress('a 0/1 ready: pod a-1 ContainerCreating');
    clock.advance(2000);
    progress('a 0/1 ready: pod a-1 Running');
    clock.advance(9000);
    progress('a 0/1 ready: pod a-1 Running');
    clock.advance(2000);
    progress('a 0/1 ready: pod a-1 Running');
    expect(logger.info_).toEqual([
      'a 0/1 ready: pod a-1 ContainerCreating',
      'a 0/1 ready: pod a-1 Running',
      'a 0/1 ready: pod a-1 Running',
    ]);
    expect(logger.debug_).toHaveLength(2);
  });
});

describe('tool output', () => {
  it('goes out in whole lines, guarded against workflow commands', () => {
    const written: string[] = [];
    const writer = lineWriter((text) => written.push(text));
    writer.push(Buffer.from('#1 [internal] load build definition\n#2 DONE 0.'));
    writer.push(Buffer.from('1s\r\n::set-output name=x::y\nlast'));
    writer.flush();
    expect(written[0]).toBe('#1 [internal] load build definition\n');
    expect(written[1]).toBe('#2 DONE 0.1s\n');
    expect(written[2]).not.toMatch(/^::set-output/);
    expect(written[3]).toBe('last\n');
  });

  it('echoes the tool output without the [command] line, and still returns it', async () => {
    const written: string[] = [];
    const stdoutWrite = process.stdout.write;
    const seenOnStdout: string[] = [];
    process.stdout.write = ((chunk: string) => (seenOnStdout.push(String(chunk)), true)) as typeof process.stdout.write;
    try {
      const exec = actionsExec({}, true, (text) => written.push(text));
      const result = await exec(process.execPath, ['-e', 'console.log("step 1/2"); console.error("warning: x")']);
      expect(result).toMatchObject({ exitCode: 0, stdout: 'step 1/2\n', stderr: 'warning: x\n' });
    } finally {
      process.stdout.write = stdoutWrite;
    }
    expect(written.sort()).toEqual(['step 1/2\n', 'warning: x\n']);
    expect(seenOnStdout.join('')).not.toContain('[command]');
  });
});
