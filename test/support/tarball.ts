// Tar archives built in memory for tests, with any entry a hostile archive could hold.
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';

export interface TarEntry {
  name: string;
  type?: 'file' | 'directory' | 'symlink' | 'link';
  content?: string | Buffer;
  linkname?: string;
  mode?: number;
}

export async function tarball(entries: TarEntry[], gzip = false): Promise<Buffer> {
  const pack = tar.pack();
  const collected = (async () => {
    const chunks: Buffer[] = [];
    for await (const chunk of pack) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  })();
  for (const entry of entries) {
    const type = entry.type ?? 'file';
    const header = { name: entry.name, type, linkname: entry.linkname, mode: entry.mode };
    await new Promise<void>((resolve, reject) => {
      const done = (error?: Error | null): void => (error ? reject(error) : resolve());
      if (type === 'file') pack.entry(header, entry.content ?? '', done);
      else pack.entry(header, done);
    });
  }
  pack.finalize();
  const body = await collected;
  return gzip ? gzipSync(body) : body;
}
