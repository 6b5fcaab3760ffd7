// A real Prometheus scraping local model servers, each target with its own `namespace`, `app` and `track` labels,
// as the contract's metric conventions expect. (The prom worktree's startPrometheus scrapes targets without labels;
// the two can merge once it takes labelled targets.)
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { freePort, LOOPBACK, requireBinary, startProcess, tempDir, waitForHttp, type RunningProcess } from './local.js';

export interface LabelledTarget {
  /** host:port */
  address: string;
  labels: Record<string, string>;
}

export interface ScrapingPrometheus {
  url: string;
  process: RunningProcess;
  /** Runs an instant PromQL query and returns its vector result. */
  query(promql: string): Promise<Array<{ metric: Record<string, string>; value: number }>>;
  stop(): Promise<void>;
}

/** A Prometheus config scraping each target with its labels. */
export function labelledScrapeConfig(targets: LabelledTarget[], intervalSeconds = 1): object {
  return {
    global: { scrape_interval: `${intervalSeconds}s`, evaluation_interval: `${intervalSeconds}s` },
    scrape_configs: [
      {
        job_name: 'models',
        static_configs: targets.map((target) => ({ targets: [target.address], labels: target.labels })),
      },
    ],
  };
}

/** Starts `prometheus` on 127.0.0.1 and a free port with the given config (as an object), in a temp dir. */
export async function startScrapingPrometheus(config: object): Promise<ScrapingPrometheus> {
  requireBinary('prometheus');
  const dir = tempDir('prometheus-scrape');
  const configFile = join(dir.path, 'prometheus.yml');
  writeFileSync(configFile, stringify(config));
  const port = await freePort();
  const url = `http://${LOOPBACK}:${port}`;
  const running = startProcess('prometheus', [
    `--config.file=${configFile}`,
    `--storage.tsdb.path=${join(dir.path, 'data')}`,
    `--web.listen-address=${LOOPBACK}:${port}`,
  ]);
  const stop = async (): Promise<void> => {
    await running.stop();
    dir.remove();
  };
  try {
    await waitForHttp(`${url}/-/ready`, 20000);
  } catch (error) {
    const output = running.output();
    await stop();
    throw new Error(`${(error as Error).message}\n${output}`, { cause: error });
  }
  const query = async (promql: string): Promise<Array<{ metric: Record<string, string>; value: number }>> => {
    const response = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = (await response.json()) as {
      status: string;
      error?: string;
      data?: { result: Array<{ metric: Record<string, string>; value: [number, string] }> };
    };
    if (body.status !== 'success') throw new Error(`PromQL ${promql} failed: ${body.error ?? response.status}`);
    return (body.data?.result ?? []).map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
  };
  return { url, process: running, query, stop };
}
