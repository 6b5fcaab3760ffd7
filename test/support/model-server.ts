// Starts the sample model server (workflows-examples/sample-model/server/server.mjs) as a real child process.
import { fileURLToPath } from 'node:url';
import { freePort, LOOPBACK, startProcess, waitForHttp, type RunningProcess } from './local.js';

export const MODEL_SERVER_PATH = fileURLToPath(
  new URL('../../workflows-examples/sample-model/server/server.mjs', import.meta.url),
);

/** The server's knobs, as its environment variables (see server.mjs). */
export interface ModelServerEnv {
  ERROR_RATE?: number;
  LATENCY_MS?: number;
  SCORE_SHIFT?: number;
  INVALID_RATE?: number;
  MODEL_VERSION?: string;
  MODEL_DIR?: string;
  SEED?: number;
}

export interface ModelServer {
  url: string;
  port: number;
  process: RunningProcess;
  metrics(): Promise<string>;
  stop(): Promise<void>;
}

/** Starts server.mjs on 127.0.0.1 and a free port, and waits until /readyz answers. */
export async function startModelServer(env: ModelServerEnv = {}, readyTimeoutMs = 10000): Promise<ModelServer> {
  const port = await freePort();
  const settings = Object.fromEntries(Object.entries(env).map(([name, value]) => [name, String(value)]));
  const running = startProcess(process.execPath, [MODEL_SERVER_PATH], {
    PATH: process.env.PATH,
    ...settings,
    HOST: LOOPBACK,
    PORT: String(port),
  });
  const url = `http://${LOOPBACK}:${port}`;
  try {
    await waitForHttp(`${url}/readyz`, readyTimeoutMs);
  } catch (error) {
    await running.stop();
    throw new Error(`model server did not start: ${String(error)}\n${running.output()}`, { cause: error });
  }
  return {
    url,
    port,
    process: running,
    metrics: async () => (await fetch(`${url}/metrics`)).text(),
    stop: () => running.stop(),
  };
}
