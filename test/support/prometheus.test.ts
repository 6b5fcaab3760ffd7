import { createServer } from 'node:http';
import { expect, it } from '@jest/globals';
import { PrometheusClient } from '../../src/adapters/prometheus.js';
import { freePort, LOOPBACK, sleep } from './local.js';
import { startPrometheus } from './prometheus.js';

it('startPrometheus scrapes a local target (as the e2e test scrapes model servers)', async () => {
  let served = 0;
  const target = createServer((_request, response) => {
    served++;
    response.setHeader('Content-Type', 'text/plain; version=0.0.4');
    response.end(
      `# TYPE http_requests_total counter\nhttp_requests_total{app="m",track="canary",code="200"} ${served * 10}\n`,
    );
  });
  const port = await freePort();
  await new Promise<void>((resolve) => target.listen(port, LOOPBACK, resolve));
  const prometheus = await startPrometheus({ scrapeTargets: [`${LOOPBACK}:${port}`], scrapeIntervalSeconds: 1 });
  try {
    const client = new PrometheusClient({ url: prometheus.url, retries: 0 });
    let value: number | undefined;
    for (let attempt = 0; attempt < 50 && value === undefined; attempt++) {
      const result = await client.query('sum(http_requests_total{app="m"})', new Date());
      if (result.state === 'ok' && result.samples[0]) value = result.samples[0].value;
      else await sleep(200);
    }
    expect(value).toBeGreaterThanOrEqual(10);
  } finally {
    await prometheus.stop();
    target.closeAllConnections();
    await new Promise<void>((resolve) => target.close(() => resolve()));
  }
});
