// Download throughput and peak memory of downloadFiles for one big artifact from the local artifact server:
// once clean, once with the connection dropped every 256 MiB (each drop resumed with Range).
// Usage: npm run bench -- model-download [SIZE] (or MODEL_DOWNLOAD_SIZE; SIZE like 1GiB, 256MiB; default 1GiB).
// The server runs in this process too (deterministic bytes generated on the fly, nothing held in memory), so the
// peak RSS printed is an upper bound for the downloader alone.
import { readFileSync, writeFileSync } from 'node:fs';
import { downloadFiles } from '../src/adapters/model-sources/download.js';
import { contentHashes, generatedContent, startArtifactServer } from '../test/support/artifact-server.js';
import { tempDir } from '../test/support/local.js';
import { parseSize } from './push.js';

const MiB = 1 << 20;

function vmHwmMiB(): number | undefined {
  try {
    const kib = /VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    return kib ? Number(kib) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Resets VmHWM to the current RSS (Linux: `5` into clear_refs), so each run reports its own peak. */
function resetVmHwm(): boolean {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

export default async function run(args: string[]): Promise<void> {
  const size = parseSize(args[0] ?? process.env.MODEL_DOWNLOAD_SIZE);
  const content = generatedContent(size, 'bench-model-download');
  console.log(`artifact: ${(size / MiB).toFixed(0)} MiB, hashing it once for the expected sha256…`);
  const { sha256 } = await contentHashes(content);
  const server = await startArtifactServer();
  server.add('/models/weights.bin', content, { etag: '"bench"' });
  try {
    for (const [name, dropEvery] of [
      ['clean', undefined],
      ['drop every 256 MiB', 256 * MiB],
    ] as const) {
      server.reset();
      if (dropEvery) server.faults = { dropAfterBytes: dropEvery, dropEveryTime: true };
      const dir = tempDir('bench-download');
      global.gc?.();
      const hwmReset = resetVmHwm();
      const rssAtStart = process.memoryUsage().rss / MiB;
      let peakRss = rssAtStart;
      const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss / MiB)), 50);
      const started = process.hrtime.bigint();
      try {
        const [file] = await downloadFiles(
          [
            {
              path: 'weights.bin',
              url: `${server.url}/models/weights.bin`,
              size,
              hash: { algorithm: 'sha256', hex: sha256 },
            },
          ],
          dir.path,
          { label: 'bench model-download' },
        );
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        clearInterval(sampler);
        if (file!.sha256 !== sha256) throw new Error('bench model-download: the downloaded file has another sha256');
        const hwm = vmHwmMiB();
        console.log(
          `${name}: ${(size / MiB / seconds).toFixed(0)} MiB/s, wall ${seconds.toFixed(2)} s, ` +
            `requests ${server.requests.length} (${server.rangeRequests().length} resumed with Range), ` +
            `RSS at start ${rssAtStart.toFixed(0)} MiB, peak RSS sampled ${peakRss.toFixed(0)} MiB, ` +
            `VmHWM ${hwm === undefined ? 'n/a' : `${hwm.toFixed(0)} MiB${hwmReset ? '' : ' (since process start)'}`}`,
        );
      } finally {
        clearInterval(sampler);
        dir.remove();
      }
    }
  } finally {
    await server.stop();
  }
}
