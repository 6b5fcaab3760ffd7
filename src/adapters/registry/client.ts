// OCI distribution client over axios: blobs (HEAD, mount, monolithic and chunked uploads that resume),
// manifests and indexes, tags, and the registry's Docker-Content-Digest checked against ours.
// Blob bodies come from a re-openable BlobSource and go out through node:http from two reused buffers, so memory
// stays flat however big a layer is, and the bytes cost little CPU on their way (the registry needs it more).
import axios, { type AxiosInstance, type AxiosResponse, type Method } from 'axios';
import { request as httpRequest, type ClientRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Readable } from 'node:stream';
import { registryBaseUrl } from '../../core/image-ref.js';
import { RegistryAuth, repositoryScope, type RegistryCredentials } from './auth.js';
import { countingStream, sha256Digest, type BlobSource } from './blob-source.js';
import { defaultRetryPolicy, isNetworkError, isRetryableStatus, retryDelayMs, type RetryPolicy } from './retry.js';

export const MEDIA_TYPES = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
} as const;
const MANIFEST_ACCEPT = Object.values(MEDIA_TYPES).join(', ');

export interface RegistryClientOptions {
  /** Registry host as in the image reference, e.g. `myacr.azurecr.io` or `127.0.0.1:5000`. */
  registry: string;
  credentials?: RegistryCredentials;
  mask?: (secret: string) => void;
  /** Override the base URL (tests put a fault-injecting proxy in front of the registry). */
  baseUrl?: string;
  retry?: Partial<RetryPolicy>;
  /** Blobs up to this size go in one PUT (default 16 MiB); bigger ones in PATCH chunks of `chunkSize`. */
  monolithicLimit?: number;
  /**
   * PATCH size (default: the whole blob in one PATCH, as skopeo and crane send it: smaller chunks only add round
   * trips, and a registry that resumes does so at any offset). Raised to the registry's `OCI-Chunk-Min-Length`.
   */
  chunkSize?: number;
  timeoutMs?: number;
}

export interface Manifest {
  mediaType: string;
  digest: string;
  body: Buffer;
}

export interface UploadOptions {
  /** Repositories of the same registry that may hold the blob, tried in order with a cross-repository mount. */
  mountFrom?: string | readonly string[];
  onBytes?: (count: number) => void;
}

interface UploadSession {
  location: string;
  /** The registry's OCI-Chunk-Min-Length (0: none). */
  minChunk: number;
}

export interface UploadResult {
  /** False when the registry already had the blob (HEAD or mount): nothing was sent. */
  uploaded: boolean;
  mounted: boolean;
  /** Bytes put on the wire, re-sent bytes included. */
  bytesSent: number;
}

interface RequestSpec {
  method: Method;
  /** A path under /v2/ or an absolute URL (upload locations). */
  url: string;
  repository: string;
  push?: boolean;
  /** A repository the request also reads from (a cross-repository mount): its pull scope goes in the token too. */
  pullFrom?: string;
  headers?: Record<string, string | number>;
  /** A fresh body per attempt; a stream cannot be sent twice. */
  body?: () => Promise<Readable | Buffer | string>;
  /** Blob bytes `[start, end)` of `source` as the body, sent through node:http from reused buffers. */
  upload?: { source: Omit<BlobSource, 'digest'>; start: number; end: number; onBytes: (count: number) => void };
  responseType?: 'arraybuffer' | 'stream';
  /** Statuses that are answers, not errors (e.g. 404 on HEAD). */
  accept?: number[];
  /** Retry 5xx and network errors here; off where the caller resumes by itself. */
  retry?: boolean;
}

export class RegistryError extends Error {
  constructor(
    message: string,
    readonly status?: number,
    readonly code?: string,
  ) {
    super(message);
  }
}

export class RegistryClient {
  readonly registry: string;
  private readonly baseUrl: string;
  /** The only origin credentials go to (scheme, host and port of `baseUrl`). */
  private readonly origin: string;
  private readonly http: AxiosInstance;
  private readonly auth: RegistryAuth;
  private readonly retry: RetryPolicy;
  private readonly monolithicLimit: number;
  private readonly chunkSize: number;
  private readonly timeoutMs: number;

  constructor(options: RegistryClientOptions) {
    this.registry = options.registry;
    this.baseUrl = (options.baseUrl ?? registryBaseUrl(options.registry)).replace(/\/$/, '');
    this.origin = new URL(this.baseUrl).origin;
    this.timeoutMs = options.timeoutMs ?? 120000;
    this.http = axios.create({
      timeout: this.timeoutMs,
      // follow-redirects buffers request bodies to replay them: uploads would sit in memory.
      maxRedirects: 0,
      maxBodyLength: Infinity,
      maxContentLength: Infinity,
      decompress: false,
      validateStatus: () => true,
    });
    this.auth = new RegistryAuth({
      registry: options.registry,
      credentials: options.credentials ?? { kind: 'anonymous' },
      mask: options.mask,
      timeoutMs: options.timeoutMs,
    });
    this.retry = { ...defaultRetryPolicy, ...options.retry };
    this.monolithicLimit = options.monolithicLimit ?? 16 << 20;
    this.chunkSize = options.chunkSize ?? Infinity;
  }

  // ---- blobs ---------------------------------------------------------------------------------

  async blobExists(repository: string, digest: string): Promise<boolean> {
    const response = await this.send({
      method: 'HEAD',
      url: `/v2/${repository}/blobs/${digest}`,
      repository,
      accept: [200, 404],
    });
    return response.status === 200;
  }

  /** Small blobs (configs) in memory, checked against their digest. */
  async getBlob(repository: string, digest: string): Promise<Buffer> {
    const response = await this.followRedirect(
      await this.send({ method: 'GET', url: `/v2/${repository}/blobs/${digest}`, repository, accept: [200, 307, 302] }),
      'arraybuffer',
    );
    const body = Buffer.from(response.data as ArrayBuffer);
    if (sha256Digest(body) !== digest) {
      throw new RegistryError(`registry ${this.registry}: blob ${repository}@${digest} arrived with another digest`);
    }
    return body;
  }

  /** A blob in another repository (or registry) as a source for an upload: streamed, range-resumable. */
  remoteBlob(repository: string, digest: string, size: number): BlobSource {
    return {
      digest,
      size,
      open: async (start, end = size) => {
        const response = await this.send({
          method: 'GET',
          url: `/v2/${repository}/blobs/${digest}`,
          repository,
          headers: { Range: `bytes=${start}-${end - 1}` },
          responseType: 'stream',
          accept: [200, 206, 307, 302],
        });
        const final = await this.followRedirect(response, 'stream', { Range: `bytes=${start}-${end - 1}` });
        if (final.status === 200 && start > 0) {
          (final.data as Readable).destroy();
          throw new RegistryError(`registry ${this.registry} ignored a Range request for ${repository}@${digest}`);
        }
        return final.data as Readable;
      },
    };
  }

  /** Asks the registry to link a blob from another repository; true when it did (no bytes move). */
  async mountBlob(repository: string, digest: string, fromRepository: string): Promise<boolean> {
    const attempt = await this.tryMount(repository, digest, fromRepository);
    if (attempt && attempt !== 'mounted') await this.cancelUpload(repository, attempt.location);
    return attempt === 'mounted';
  }

  /**
   * Puts a blob into `repository` unless it is there already (HEAD) or can be mounted from one of `mountFrom`
   * (tried in order; the upload session a failed mount opens is the one the bytes then go to, so trying costs no
   * extra request). `onBytes` is called as bytes go on the wire.
   */
  async uploadBlob(repository: string, source: BlobSource, options: UploadOptions = {}): Promise<UploadResult> {
    if (await this.blobExists(repository, source.digest)) return { uploaded: false, mounted: false, bytesSent: 0 };
    const candidates = [...new Set([options.mountFrom ?? []].flat())].filter((from) => from !== repository);
    let session: UploadSession | undefined;
    for (const [index, from] of candidates.entries()) {
      const attempt = await this.tryMount(repository, source.digest, from);
      if (attempt === 'mounted') return { uploaded: false, mounted: true, bytesSent: 0 };
      if (attempt && index < candidates.length - 1) await this.cancelUpload(repository, attempt.location);
      else if (attempt) session = attempt;
    }
    return this.sendBlob(repository, source, source.digest, session, options.onBytes);
  }

  /**
   * Uploads bytes whose digest is still being computed (a layer hashed while it goes): POST, PATCH, and the PUT
   * that closes the upload once `digest` resolves. No HEAD or mount: for blobs the caller knows are missing.
   */
  async uploadBlobAhead(
    repository: string,
    source: Omit<BlobSource, 'digest'>,
    digest: Promise<string>,
    options: Pick<UploadOptions, 'onBytes'> = {},
  ): Promise<UploadResult> {
    // An unobserved rejection while the bytes go would end the process; it is awaited (and thrown) below.
    digest.catch(() => undefined);
    return this.sendBlob(repository, source, digest, undefined, options.onBytes);
  }

  /** True unless the registry says it knows no such repository (`NAME_UNKNOWN` on its tag list). */
  async repositoryKnown(repository: string): Promise<boolean> {
    const response = await this.send({
      method: 'GET',
      url: `/v2/${repository}/tags/list?n=1`,
      repository,
      // The push token the upload needs next: one token request, not two.
      push: true,
      responseType: 'arraybuffer',
      accept: [200, 404],
    });
    if (response.status === 200) return true;
    return !Buffer.from(response.data as ArrayBuffer)
      .toString()
      .includes('NAME_UNKNOWN');
  }

  private async sendBlob(
    repository: string,
    source: Omit<BlobSource, 'digest'>,
    digest: string | Promise<string>,
    session: UploadSession | undefined,
    onBytes?: (count: number) => void,
  ): Promise<UploadResult> {
    let bytesSent = 0;
    const count = (bytes: number): void => {
      bytesSent += bytes;
      onBytes?.(bytes);
    };
    if (typeof digest === 'string' && source.size <= this.monolithicLimit) {
      await this.uploadMonolithic(repository, { ...source, digest }, count, session);
    } else {
      await this.uploadChunked(repository, source, digest, count, session);
    }
    return { uploaded: true, mounted: false, bytesSent };
  }

  /** 'mounted', or the upload session the registry opened instead, or undefined when it refused to read `from`. */
  private async tryMount(
    repository: string,
    digest: string,
    from: string,
  ): Promise<'mounted' | UploadSession | undefined> {
    let response: AxiosResponse;
    try {
      response = await this.send({
        method: 'POST',
        url: `/v2/${repository}/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from)}`,
        repository,
        push: true,
        pullFrom: from,
        headers: { 'Content-Length': 0 },
        accept: [201, 202],
      });
    } catch (error) {
      // No pull access to `from` is no reason to fail a push: the bytes go up instead.
      if (error instanceof RegistryError && (error.status === 401 || error.status === 403)) return undefined;
      throw error;
    }
    return response.status === 201 ? 'mounted' : this.session(response);
  }

  private async startUpload(repository: string): Promise<UploadSession> {
    const response = await this.send({
      method: 'POST',
      url: `/v2/${repository}/blobs/uploads/`,
      repository,
      push: true,
      headers: { 'Content-Length': 0 },
      accept: [202],
    });
    return this.session(response);
  }

  private session(response: AxiosResponse): UploadSession {
    const minimum = Number(response.headers['oci-chunk-min-length']);
    return { location: this.location(response), minChunk: Number.isFinite(minimum) && minimum > 0 ? minimum : 0 };
  }

  private async uploadMonolithic(
    repository: string,
    source: BlobSource,
    onBytes: (n: number) => void,
    session?: UploadSession,
  ): Promise<void> {
    let opened = session;
    await this.withRetries(async () => {
      const { location } = opened ?? (await this.startUpload(repository));
      opened = undefined;
      const response = await this.send({
        method: 'PUT',
        url: this.withDigest(location, source.digest),
        repository,
        push: true,
        retry: false,
        headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': source.size },
        upload: { source, start: 0, end: source.size, onBytes },
        accept: [201],
      });
      this.checkDigest(response, source.digest, `blob ${repository}@${source.digest}`);
    });
  }

  /**
   * PATCH chunks (by default one, the whole blob, as skopeo sends it; at least the registry's
   * `OCI-Chunk-Min-Length`); after a broken connection or a 5xx, asks the registry where it got to and goes on from
   * there. The closing PUT waits for the digest.
   */
  private async uploadChunked(
    repository: string,
    source: Omit<BlobSource, 'digest'>,
    digest: string | Promise<string>,
    onBytes: (n: number) => void,
    session?: UploadSession,
  ): Promise<void> {
    const opened = session ?? (await this.startUpload(repository));
    let location = opened.location;
    const chunkSize = Math.max(this.chunkSize, opened.minChunk);
    let offset = 0;
    let failures = 0;
    while (offset < source.size) {
      const end = Math.min(offset + chunkSize, source.size);
      const start = offset;
      try {
        const response = await this.send({
          method: 'PATCH',
          url: location,
          repository,
          push: true,
          retry: false,
          headers: {
            'Content-Type': 'application/octet-stream',
            'Content-Length': end - start,
            'Content-Range': `${start}-${end - 1}`,
          },
          upload: { source, start, end, onBytes },
          accept: [202],
        });
        location = this.location(response);
        offset = rangeEnd(response.headers.range as string | undefined) ?? end;
        failures = 0;
      } catch (error) {
        const lostPlace = error instanceof RegistryError && error.status === 416;
        if (!(isTransient(error) || lostPlace) || ++failures > this.retry.retries) {
          await this.cancelUpload(repository, location);
          throw error;
        }
        await this.retry.sleep(retryDelayMs(this.retry, failures - 1));
        // 416: the registry holds other bytes than we think: start over rather than guess again.
        ({ location, offset } = lostPlace
          ? { location: (await this.startUpload(repository)).location, offset: 0 }
          : await this.resumePoint(repository, location));
      }
    }
    let final: string;
    try {
      final = await digest;
    } catch (error) {
      await this.cancelUpload(repository, location);
      throw error;
    }
    const response = await this.send({
      method: 'PUT',
      url: this.withDigest(location, final),
      repository,
      push: true,
      headers: { 'Content-Length': 0 },
      accept: [201],
    });
    this.checkDigest(response, final, `blob ${repository}@${final}`);
  }

  /** Where an interrupted upload stands; a new upload from 0 when the registry dropped it. */
  private async resumePoint(repository: string, location: string): Promise<{ location: string; offset: number }> {
    const status = await this.send({
      method: 'GET',
      url: location,
      repository,
      push: true,
      accept: [204, 400, 404, 416],
    });
    if (status.status === 204) {
      const offset = rangeEnd(status.headers.range as string | undefined) ?? 0;
      return { location: status.headers.location ? this.location(status) : location, offset };
    }
    return { location: (await this.startUpload(repository)).location, offset: 0 };
  }

  private async cancelUpload(repository: string, location: string): Promise<void> {
    await this.send({ method: 'DELETE', url: location, repository, push: true, accept: [204, 404, 400] }).catch(
      () => undefined,
    );
  }

  // ---- manifests and tags --------------------------------------------------------------------

  async getManifest(repository: string, reference: string): Promise<Manifest> {
    const response = await this.send({
      method: 'GET',
      url: `/v2/${repository}/manifests/${reference}`,
      repository,
      headers: { Accept: MANIFEST_ACCEPT },
      responseType: 'arraybuffer',
      accept: [200],
    });
    const body = Buffer.from(response.data as ArrayBuffer);
    const digest = sha256Digest(body);
    if (reference.startsWith('sha256:') && digest !== reference) {
      throw new RegistryError(`registry ${this.registry}: manifest ${repository}@${reference} arrived as ${digest}`);
    }
    const parsed = JSON.parse(body.toString()) as { mediaType?: string };
    const mediaType = parsed.mediaType ?? String(response.headers['content-type'] ?? '').split(';')[0]!;
    return { mediaType, digest, body };
  }

  /** The digest the registry serves for a tag, or undefined when there is no such tag. */
  async manifestDigest(repository: string, reference: string): Promise<string | undefined> {
    const response = await this.send({
      method: 'HEAD',
      url: `/v2/${repository}/manifests/${reference}`,
      repository,
      headers: { Accept: MANIFEST_ACCEPT },
      accept: [200, 404],
    });
    if (response.status === 404) return undefined;
    const digest = response.headers['docker-content-digest'] as string | undefined;
    return digest ?? (await this.getManifest(repository, reference)).digest;
  }

  /** PUTs a manifest or index under a tag or its digest; refuses a registry that stored other bytes. */
  async putManifest(repository: string, reference: string, body: Buffer, mediaType: string): Promise<string> {
    const digest = sha256Digest(body);
    const response = await this.send({
      method: 'PUT',
      url: `/v2/${repository}/manifests/${reference}`,
      repository,
      push: true,
      headers: { 'Content-Type': mediaType },
      body: async () => body,
      accept: [201],
    });
    this.checkDigest(response, digest, `manifest ${repository}:${reference}`);
    return digest;
  }

  async listTags(repository: string): Promise<string[]> {
    const tags: string[] = [];
    let url: string | undefined = `/v2/${repository}/tags/list?n=1000`;
    while (url) {
      const response: AxiosResponse = await this.send({
        method: 'GET',
        url,
        repository,
        responseType: 'arraybuffer',
        accept: [200, 404],
      });
      if (response.status === 404) return [];
      const page = JSON.parse(Buffer.from(response.data as ArrayBuffer).toString()) as { tags?: string[] | null };
      tags.push(...(page.tags ?? []));
      const next = /<([^>]+)>;\s*rel="?next"?/.exec(String(response.headers.link ?? ''));
      url = next?.[1];
    }
    return tags;
  }

  // ---- plumbing ------------------------------------------------------------------------------

  private checkDigest(response: AxiosResponse, expected: string, what: string): void {
    const returned = response.headers['docker-content-digest'] as string | undefined;
    if (returned && returned !== expected) {
      throw new RegistryError(
        `registry ${this.registry} stored ${what} as ${returned}, not ${expected}: refusing to use it ` +
          '(a proxy or the registry changed the bytes)',
      );
    }
  }

  private location(response: AxiosResponse): string {
    const location = response.headers.location as string | undefined;
    if (!location) throw new RegistryError(`registry ${this.registry} started an upload without a Location header`);
    return new URL(location, this.baseUrl).toString();
  }

  private withDigest(location: string, digest: string): string {
    const url = new URL(location, this.baseUrl);
    url.searchParams.set('digest', digest);
    return url.toString();
  }

  private async followRedirect(
    response: AxiosResponse,
    responseType: 'arraybuffer' | 'stream',
    headers: Record<string, string> = {},
  ): Promise<AxiosResponse> {
    if (response.status !== 307 && response.status !== 302) return response;
    if (responseType === 'stream') (response.data as Readable | undefined)?.destroy?.();
    // Storage behind a redirect (S3, Azure Blob) takes a signed URL and no registry credentials: a redirect is
    // never followed with them, whatever its origin.
    const target = new URL(response.headers.location as string, this.baseUrl).toString();
    const final = await this.http.get(target, { responseType, headers });
    if (final.status >= 300)
      throw new RegistryError(`registry ${this.registry}: blob storage answered HTTP ${final.status}`);
    return final;
  }

  private async withRetries<T>(attempt: () => Promise<T>): Promise<T> {
    for (let failures = 0; ; failures++) {
      try {
        return await attempt();
      } catch (error) {
        if (!isTransient(error) || failures >= this.retry.retries) throw error;
        await this.retry.sleep(retryDelayMs(this.retry, failures, (error as { retryAfter?: string }).retryAfter));
      }
    }
  }

  /** One request with auth (one challenge round) and, unless `retry: false`, retries on 429/5xx/network. */
  private send(spec: RequestSpec): Promise<AxiosResponse> {
    const once = () => this.sendAuthorized(spec);
    return spec.retry === false ? once() : this.withRetries(once);
  }

  private async sendAuthorized(spec: RequestSpec): Promise<AxiosResponse> {
    const scopes = [repositoryScope(spec.repository, spec.push ? 'pull,push' : 'pull')];
    if (spec.pullFrom) scopes.push(repositoryScope(spec.pullFrom, 'pull'));
    const url = spec.url.startsWith('http') ? spec.url : `${this.baseUrl}${spec.url}`;
    // Upload Locations and Links are the registry's to name, and may point anywhere (another host, plain http):
    // credentials and tokens go to the registry's own origin only, elsewhere the request goes without them.
    const ours = new URL(url).origin === this.origin;
    for (let round = 0; ; round++) {
      const authorization = ours ? await this.auth.header(scopes) : undefined;
      let response: AxiosResponse;
      const headers = { ...spec.headers, ...(authorization ? { Authorization: authorization } : {}) };
      try {
        response =
          spec.upload && !behindProxy(url)
            ? await this.sendBody(spec.method, url, headers, spec.upload)
            : await this.http.request({
                method: spec.method,
                url,
                headers,
                data: spec.upload ? await uploadStream(spec.upload) : spec.body ? await spec.body() : undefined,
                responseType: spec.responseType ?? 'arraybuffer',
              });
      } catch (error) {
        if ((error as { sourceFailed?: boolean }).sourceFailed) throw error;
        // No `cause`: axios errors carry the request, Authorization header included.
        throw new RegistryError(
          `registry ${this.registry}: ${spec.method} ${describePath(url)} failed: ${(error as Error).message}`,
          undefined,
          (error as { code?: string }).code ?? 'NETWORK',
        );
      }
      if (response.status === 401 && round === 0 && ours) {
        discard(response);
        if (this.auth.onUnauthorized(response.headers['www-authenticate'] as string, scopes, !!authorization)) continue;
      }
      if ((spec.accept ?? [200]).includes(response.status)) return response;
      throw await this.failure(spec, response, url, !!authorization, ours);
    }
  }

  /**
   * One request whose body is blob bytes. Sources that read into a caller's buffer get two buffers, each reused
   * once the socket has taken it: no allocation per chunk, one read ahead of the network. Others are piped.
   */
  private sendBody(
    method: Method,
    url: string,
    headers: Record<string, string | number>,
    upload: NonNullable<RequestSpec['upload']>,
  ): Promise<AxiosResponse> {
    return new Promise<AxiosResponse>((resolve, reject) => {
      const send = new URL(url).protocol === 'https:' ? httpsRequest : httpRequest;
      const request = send(url, { method: method.toUpperCase(), headers });
      request.setTimeout(this.timeoutMs, () =>
        request.destroy(Object.assign(new Error(`timeout of ${this.timeoutMs}ms exceeded`), { code: 'ECONNABORTED' })),
      );
      let bodySent = false;
      request.on('finish', () => (bodySent = true));
      request.on('error', reject);
      request.on('response', (answer) => {
        const chunks: Buffer[] = [];
        answer.on('data', (chunk: Buffer) => chunks.push(chunk));
        answer.on('error', reject);
        answer.on('end', () => {
          // An answer before the whole body went (401, 400): stop sending it.
          if (!bodySent) request.destroy();
          resolve({
            status: answer.statusCode ?? 0,
            statusText: answer.statusMessage ?? '',
            headers: answer.headers as IncomingHttpHeaders & Record<string, string>,
            data: Buffer.concat(chunks),
            config: {} as AxiosResponse['config'],
          });
        });
      });
      writeBody(request, upload).catch((error: Error) => {
        // The source failed: a file changed or its hash failed is no network error, so it is not retried as one.
        reject(isTransient(error) ? error : Object.assign(error, { sourceFailed: true }));
        request.destroy();
      });
    });
  }

  private async failure(
    spec: RequestSpec,
    response: AxiosResponse,
    url: string,
    sentCredentials: boolean,
    ours: boolean,
  ) {
    const detail = await errorDetail(response);
    const where = `${spec.method} ${describePath(url)}`;
    if (response.status === 401 || response.status === 403) {
      const advice = !ours
        ? `the registry sent this request to ${new URL(url).origin}, another origin than ${this.origin}, ` +
          'where model-canary sends no credentials'
        : sentCredentials
          ? 'check the registry username and password or token, and that it may ' + (spec.push ? 'push to' : 'pull')
          : 'give credentials (registry-auth)';
      return new RegistryError(
        `registry ${this.registry} refused access to ${spec.repository} (HTTP ${response.status} on ${where}${detail}): ${advice}`,
        response.status,
        'UNAUTHORIZED',
      );
    }
    const error = new RegistryError(
      `registry ${this.registry}: ${where} answered HTTP ${response.status}${detail}`,
      response.status,
      isRetryableStatus(response.status) ? 'RETRYABLE' : 'HTTP',
    );
    (error as { retryAfter?: string }).retryAfter = response.headers['retry-after'] as string | undefined;
    return error;
  }
}

const BODY_BUFFER = 1 << 20;

/**
 * True when an HTTP(S)_PROXY variable may apply to `url`: axios, which honours them (and NO_PROXY), then sends the
 * body, as a stream.
 */
function behindProxy(url: string): boolean {
  const scheme = new URL(url).protocol.replace(':', '');
  const env = process.env;
  return !!(env[`${scheme}_proxy`] || env[`${scheme.toUpperCase()}_PROXY`] || env.all_proxy || env.ALL_PROXY);
}

async function uploadStream(upload: NonNullable<RequestSpec['upload']>): Promise<Readable | Buffer> {
  if (upload.end <= upload.start) return Buffer.alloc(0);
  return (await upload.source.open(upload.start, upload.end)).pipe(countingStream(upload.onBytes));
}

async function writeBody(request: ClientRequest, upload: NonNullable<RequestSpec['upload']>): Promise<void> {
  const { source, start, end, onBytes } = upload;
  const reader = source.reader?.();
  if (!reader) {
    const stream = end > start ? await source.open(start, end) : undefined;
    if (!stream) return void request.end();
    // Errors of the source reject; the request's own (network) errors reach sendBody through its 'error' event.
    return new Promise<void>((resolve, reject) => {
      stream.on('error', reject);
      stream.on('end', resolve);
      request.on('close', () => {
        stream.destroy();
        resolve();
      });
      stream.pipe(countingStream(onBytes)).pipe(request);
    });
  }
  const free = [Buffer.allocUnsafe(BODY_BUFFER), Buffer.allocUnsafe(BODY_BUFFER)];
  const waiting: (() => void)[] = [];
  let closed = false;
  request.on('close', () => {
    closed = true;
    for (const wake of waiting.splice(0)) wake();
  });
  try {
    for (let position = start; position < end && !closed;) {
      while (free.length === 0 && !closed) await new Promise<void>((wake) => waiting.push(wake));
      if (closed) break;
      const buffer = free.pop()!;
      const length = Math.min(buffer.length, end - position);
      await reader.read(position, length, buffer, 0);
      if (closed) break;
      position += length;
      onBytes(length);
      request.write(buffer.subarray(0, length), () => {
        free.push(buffer);
        waiting.shift()?.();
      });
    }
    if (!closed) request.end();
  } finally {
    await reader.close();
  }
}

function isTransient(error: unknown): boolean {
  if (error instanceof RegistryError) return error.code === 'RETRYABLE' || (error.status === undefined && !!error.code);
  return isNetworkError(error);
}

/**
 * `Range: 0-1234` -> 1235, the next offset to send. `0-0` is what docker distribution answers for an empty upload
 * (it writes `0-<size - 1>`, and 0 for a size of 0): 0, never 1, or the first byte would be skipped.
 */
function rangeEnd(range: string | undefined): number | undefined {
  const match = /^(?:bytes=)?0-(\d+)$/.exec(range?.trim() ?? '');
  if (!match) return undefined;
  const last = Number(match[1]);
  return last === 0 ? 0 : last + 1;
}

/** The path only: upload URLs carry registry state in their query. */
function describePath(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return url.split('?')[0]!;
  }
}

function discard(response: AxiosResponse): void {
  const data = response.data as Readable | undefined;
  if (data && typeof data.destroy === 'function') data.destroy();
}

async function errorDetail(response: AxiosResponse): Promise<string> {
  let text = '';
  const data = response.data as Readable | ArrayBuffer | undefined;
  if (data instanceof ArrayBuffer || Buffer.isBuffer(data)) text = Buffer.from(data as ArrayBuffer).toString();
  else if (data && typeof (data as Readable).destroy === 'function') (data as Readable).destroy();
  try {
    const errors = (JSON.parse(text) as { errors?: { code?: string; message?: string }[] }).errors ?? [];
    const first = errors[0];
    if (first) return `: ${first.code ?? ''} ${first.message ?? ''}`.trimEnd();
  } catch {
    // not JSON: no detail worth quoting
  }
  return '';
}
