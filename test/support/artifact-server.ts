// A local artifact server (blob storage as Azure Blob, S3 or an MLflow artifact proxy answer it) with faults a
// test switches on: HEAD, Range (206 / 416), ETag and If-Range, Content-MD5 / x-ms-blob-content-md5, a dropped
// connection after N bytes, one wrong byte, a server that ignores Range, and error statuses for the first requests.
// Content comes from memory, a file on disk, or deterministic bytes generated on the fly (1 GiB without 1 GiB of RAM).
import { createHash } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { freePort, LOOPBACK } from './local.js';

const MiB = 1 << 20;

/** Bytes the server can stream from any offset. */
export interface Content {
  size: number;
  /** Bytes [start, end) as a stream. */
  read(start: number, end: number): Readable;
}

export function bufferContent(data: Buffer): Content {
  return { size: data.length, read: (start, end) => Readable.from([data.subarray(start, end)]) };
}

export function fileContent(path: string): Content {
  const size = statSync(path).size;
  return {
    size,
    read: (start, end) =>
      end <= start ? Readable.from([]) : createReadStream(path, { start, end: end - 1, highWaterMark: MiB }),
  };
}

/**
 * `size` deterministic, incompressible bytes: 1 MiB blocks of one pseudo-random block, each block's first 32 bytes
 * replaced by sha256(seed, block index), so a resume at a wrong offset never gives the right bytes by chance.
 */
export function generatedContent(size: number, seed = 'model-canary'): Content {
  const base = Buffer.alloc(MiB);
  for (let offset = 0; offset < MiB; offset += 32) {
    createHash('sha256').update(`${seed}:base:${offset}`).digest().copy(base, offset);
  }
  const block = (index: number): Buffer => {
    const copy = Buffer.from(base);
    createHash('sha256').update(`${seed}:block:${index}`).digest().copy(copy, 0);
    return copy;
  };
  return {
    size,
    read: (start, end) =>
      Readable.from(
        (function* () {
          for (let at = start; at < end;) {
            const index = Math.floor(at / MiB);
            const from = at - index * MiB;
            const to = Math.min(MiB, end - index * MiB);
            yield block(index).subarray(from, to);
            at += to - from;
          }
        })(),
      ),
  };
}

/** sha256 and md5 (hex) of a content, streamed. */
export async function contentHashes(content: Content): Promise<{ sha256: string; md5: string }> {
  const sha256 = createHash('sha256');
  const md5 = createHash('md5');
  for await (const chunk of content.read(0, content.size)) {
    sha256.update(chunk as Buffer);
    md5.update(chunk as Buffer);
  }
  return { sha256: sha256.digest('hex'), md5: md5.digest('hex') };
}

export interface Faults {
  /** Cut the connection after this many body bytes of a response; `dropEveryTime` for every response. */
  dropAfterBytes?: number;
  dropEveryTime?: boolean;
  /** At that point stop sending but keep the connection open (a stalled server), instead of cutting it. */
  stall?: boolean;
  /** Serve a wrong byte at this absolute offset (in every response that covers it, or the first `wrongByteTimes`). */
  wrongByteAt?: number;
  wrongByteTimes?: number;
  /** Answer 200 with the whole body whatever the Range header says. */
  ignoreRange?: boolean;
  /** Answer `failStatus` to the first `failFirst` requests (HEAD included). */
  failFirst?: number;
  failStatus?: number;
  /** Wait this long before answering each request (so concurrent downloads overlap visibly). */
  delayMs?: number;
}

export interface ArtifactOptions {
  etag?: string;
  lastModified?: string;
  /** md5 of the content as base64, in these headers (as Azure Blob sends it). */
  md5Headers?: Array<'content-md5' | 'x-ms-blob-content-md5'>;
  md5Hex?: string;
  /** More response headers (x-ms-meta-version, ...). */
  headers?: Record<string, string>;
  /** A request must carry these headers, else 401 (auth the resolver passes on). */
  requireHeaders?: Record<string, string>;
}

export interface SeenRequest {
  method: string;
  path: string;
  query: string;
  range?: string;
  ifRange?: string;
  /** Names of the request headers, lowercase (to see what a client kept across a redirect). */
  headerNames: string[];
  status: number;
}

export interface ArtifactServer {
  url: string;
  /** Serves `content` at `path` (e.g. `/container/model.bin`); the query string is ignored, as a SAS is. */
  add(path: string, content: Content, options?: ArtifactOptions): void;
  /** Answers requests for `path` with 307 to `location` (as blob storage behind an artifact proxy). */
  redirect(path: string, location: string): void;
  faults: Faults;
  requests: SeenRequest[];
  /** The most response bodies streaming at once (concurrency the client really used). */
  maxInFlight(): number;
  /** The requests that carried a Range header. */
  rangeRequests(): SeenRequest[];
  reset(): void;
  stop(): Promise<void>;
}

export async function startArtifactServer(): Promise<ArtifactServer> {
  const artifacts = new Map<string, { content: Content; options: ArtifactOptions }>();
  const requests: SeenRequest[] = [];
  const redirects = new Map<string, string>();
  const state = { faults: {} as Faults, dropped: 0, wrongBytes: 0, inFlight: 0, maxInFlight: 0 };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    state.maxInFlight = Math.max(state.maxInFlight, ++state.inFlight);
    res.once('close', () => state.inFlight--);
    const delay = state.faults.delayMs;
    if (delay) setTimeout(() => respond(req, res), delay);
    else respond(req, res);
  };

  const respond = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://artifacts');
    const seen: SeenRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.search,
      range: req.headers.range,
      ifRange: req.headers['if-range'] as string | undefined,
      headerNames: Object.keys(req.headers),
      status: 0,
    };
    requests.push(seen);
    const answer = (status: number, headers: Record<string, string | number> = {}): void => {
      seen.status = status;
      res.writeHead(status, headers);
    };
    const faults = state.faults;
    if ((faults.failFirst ?? 0) > 0) {
      faults.failFirst!--;
      answer(faults.failStatus ?? 500, { 'Content-Type': 'text/plain' });
      res.end('injected failure');
      return;
    }
    const location = redirects.get(url.pathname);
    if (location) {
      answer(307, { Location: location });
      res.end();
      return;
    }
    const artifact = artifacts.get(url.pathname);
    if (!artifact) {
      answer(404, { 'Content-Type': 'application/xml' });
      res.end('<Error><Code>BlobNotFound</Code></Error>');
      return;
    }
    const { content, options } = artifact;
    for (const [name, value] of Object.entries(options.requireHeaders ?? {})) {
      if (req.headers[name.toLowerCase()] !== value) {
        answer(401, { 'Content-Type': 'text/plain' });
        res.end('missing credentials');
        return;
      }
    }
    const headers: Record<string, string | number> = { 'Accept-Ranges': 'bytes', ...options.headers };
    if (options.etag) headers.ETag = options.etag;
    if (options.lastModified) headers['Last-Modified'] = options.lastModified;
    if (options.md5Hex) {
      const base64 = Buffer.from(options.md5Hex, 'hex').toString('base64');
      for (const name of options.md5Headers ?? []) headers[name] = base64;
    }
    let start = 0;
    let end = content.size;
    let status = 200;
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    const validator = req.headers['if-range'];
    const validatorHolds = !validator || validator === options.etag || validator === options.lastModified;
    if (range && !faults.ignoreRange && validatorHolds) {
      start = Number(range[1]);
      end = range[2] ? Math.min(Number(range[2]) + 1, content.size) : content.size;
      if (start >= content.size || start >= end) {
        answer(416, { 'Content-Range': `bytes */${content.size}` });
        res.end();
        return;
      }
      status = 206;
      headers['Content-Range'] = `bytes ${start}-${end - 1}/${content.size}`;
    }
    headers['Content-Length'] = end - start;
    headers['Content-Type'] = 'application/octet-stream';
    answer(status, headers);
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    serveBody(res, content.read(start, end), start);
  };

  /** Streams the body, applying the byte faults; backpressure kept, so a 1 GiB body stays off the heap. */
  const serveBody = (res: ServerResponse, body: Readable, start: number): void => {
    const faults = state.faults;
    const dropAt =
      faults.dropAfterBytes !== undefined && (faults.dropEveryTime || state.dropped === 0)
        ? faults.dropAfterBytes
        : undefined;
    const corrupt =
      faults.wrongByteAt !== undefined && state.wrongBytes < (faults.wrongByteTimes ?? Infinity)
        ? faults.wrongByteAt
        : undefined;
    let sent = 0;
    let corrupted = false;
    let cut = false;
    body.on('data', (data: Buffer) => {
      // A destroyed stream may still hand over the chunks it had buffered.
      if (cut) return;
      let chunk = data;
      const at = start + sent;
      if (corrupt !== undefined && corrupt >= at && corrupt < at + chunk.length) {
        chunk = Buffer.from(chunk);
        chunk[corrupt - at] = chunk[corrupt - at]! ^ 0xff;
        if (!corrupted) state.wrongBytes++;
        corrupted = true;
      }
      if (dropAt !== undefined && sent + chunk.length >= dropAt) {
        cut = true;
        body.destroy();
        state.dropped++;
        res.write(chunk.subarray(0, dropAt - sent), () => (faults.stall ? undefined : res.socket?.destroy()));
        return;
      }
      sent += chunk.length;
      if (!res.write(chunk)) {
        body.pause();
        res.once('drain', () => body.resume());
      }
    });
    body.on('end', () => res.end());
    body.on('error', () => res.destroy());
    res.on('close', () => body.destroy());
  };

  const server = createServer(handle);
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, LOOPBACK, resolve));
  return {
    url: `http://${LOOPBACK}:${port}`,
    add: (path, content, options = {}) => artifacts.set(path, { content, options }),
    redirect: (path, location) => redirects.set(path, location),
    get faults() {
      return state.faults;
    },
    set faults(value: Faults) {
      state.faults = value;
      state.dropped = 0;
      state.wrongBytes = 0;
    },
    requests,
    maxInFlight: () => state.maxInFlight,
    rangeRequests: () => requests.filter((request) => request.range !== undefined),
    reset: () => {
      requests.length = 0;
      state.faults = {};
      state.dropped = 0;
      state.wrongBytes = 0;
      state.maxInFlight = 0;
    },
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
