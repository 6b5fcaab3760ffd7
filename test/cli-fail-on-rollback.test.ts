// `--fail-on-rollback false` in the CLI does what the action's input does: a rolled-back or inconclusive verdict
// still prints as such, and the exit code is 0. Against a Prometheus (an HTTP stand-in on 127.0.0.1) that has no
// series for the model: `analyze` is inconclusive, exit 4 by default.
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { CLI_ENTRY } from './support/runner.js';

let server: Server;
let url: string;
beforeAll(async () => {
  // Every query answers an empty vector: the series does not exist, which is never a zero.
  server = createServer((_request, response) => {
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify({ status: 'success', data: { resultType: 'vector', result: [] } }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise((resolve) => server.close(resolve)));

async function cli(...args: string[]) {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [CLI_ENTRY, ...args]);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

it('analyze with no data is inconclusive: exit 4, and exit 0 with --fail-on-rollback false, saying why', async () => {
  const args = ['analyze', '--model', 'churn-scorer', '--namespace', 'ml', '--prometheus-url', url];
  const strict = await cli(...args);
  expect(strict.code).toBe(4);
  const lenient = await cli(...args, '--fail-on-rollback', 'false');
  expect(lenient.code).toBe(0);
  expect(lenient.stdout).toMatch(/inconclusive/);
  expect(lenient.stderr).toMatch(/fail-on-rollback is false, so the exit code is 0/);
});
