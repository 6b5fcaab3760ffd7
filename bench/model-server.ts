// How much real traffic the sample model server and the load generator sustain on this machine: the e2e scenarios
// and the demo size their request rates by it. Args: [ratePerSecond=1000] [seconds=3]
import { generateLoad } from '../test/support/load-generator.js';
import { startModelServer } from '../test/support/model-server.js';
import { parsePrometheusText, sampleValue } from '../test/support/prometheus-text.js';

export default async function run(args: string[]): Promise<void> {
  const ratePerSecond = Number(args[0] ?? 1000);
  const seconds = Number(args[1] ?? 3);
  const server = await startModelServer({ SEED: 1, ERROR_RATE: 0.05 });
  try {
    const load = await generateLoad({
      urls: [`${server.url}/predict`],
      ratePerSecond,
      durationMs: seconds * 1000,
      arrival: 'poisson',
    });
    const samples = parsePrometheusText(await server.metrics());
    const count = sampleValue(samples, 'http_request_duration_seconds_count');
    const meanMs = (sampleValue(samples, 'http_request_duration_seconds_sum') / count) * 1000;
    console.log(`asked ${ratePerSecond} req/s for ${seconds} s`);
    console.log(
      `sent ${load.sent} in ${(load.elapsedMs / 1000).toFixed(2)} s = ${((load.sent * 1000) / load.elapsedMs).toFixed(0)} req/s`,
    );
    console.log(`answers by status: ${JSON.stringify(load.byStatus)}`);
    console.log(`server-side mean latency ${meanMs.toFixed(2)} ms over ${count} requests`);
  } finally {
    await server.stop();
  }
}
