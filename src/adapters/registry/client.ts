// OCI distribution client over axios: blobs (HEAD, mount, monolithic and chunked uploads that resume),
// manifests and indexes, tags, and the registry's Docker-Content-Digest checked against ours.
// Bodies are streams from a re-openable BlobSource, so memory stays flat however big a layer is.
import axios, { type AxiosInstance, type AxiosResponse, type Method } from 'axios';
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
  /** Blobs up to this size go in one PUT; bigger ones in PATCH chunks of `chunkSize`. */
  monolithicLimit?: number;
  chunkSize?: number;
  timeoutMs?: number;
}

export interface Manifest {
  mediaType: string;
  digest: string;
  body: Buffer;
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

  constructor(options: RegistryClientOptions) {
    this.registry = options.registry;
    this.baseUrl = (options.baseUrl ?? registryBaseUrl(options.registry)).replace(/\/$/, '');
    this.origin = new URL(this.baseUrl).origin;
    this.http = axios.create({
      timeout: options.timeoutMs ?? 120000,
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
    this.chunkSize = options.chunkSize ?? 32 << 20;
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
    const response = await this.send({
      method: 'POST',
      url: `/v2/${repository}/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(fromRepository)}`,
      repository,
      push: true,
      pullFrom: fromRepository,
      headers: { 'Content-Length': 0 },
      accept: [201, 202],
    });
    if (response.status === 202) await this.cancelUpload(repository, this.location(response));
    return response.status === 201;
  }

  /**
   * Puts a blob into `repository` unless it is there already (or can be mounted from `mountFrom`).
   * `onBytes` is called as bytes go on the wire.
   */
  async uploadBlob(
    repository: string,
    source: BlobSource,
    options: { mountFrom?: string; onBytes?: (count: number) => void } = {},
  ): Promise<UploadResult> {
    if (await this.blobExists(repository, source.digest)) return { uploaded: false, mounted: false, bytesSent: 0 };
    if (options.mountFrom && options.mountFrom !== repository) {
      if (await this.mountBlob(repository, source.digest, options.mountFrom)) {
        return { uploaded: false, mounted: true, bytesSent: 0 };
      }
    }
    let bytesSent = 0;
    const onBytes = (count: number): void => {
      bytesSent += count;
      options.onBytes?.(count);
    };
    if (source.size <= this.monolithicLimit) await this.uploadMonolithic(repository, source, onBytes);
    else await this.uploadChunked(repository, source, onBytes);
    return { uploaded: true, mounted: false, bytesSent };
  }

  private async startUpload(repository: string): Promise<string> {
    const response = await this.send({
      method: 'POST',
      url: `/v2/${repository}/blobs/uploads/`,
      repository,
      push: true,
      headers: { 'Content-Length': 0 },
      accept: [202],
    });
    return this.location(response);
  }

  private async uploadMonolithic(repository: string, source: BlobSource, onBytes: (n: number) => void): Promise<void> {
    await this.withRetries(async () => {
      const location = await this.startUpload(repository);
      const response = await this.send({
        method: 'PUT',
        url: this.withDigest(location, source.digest),
        repository,
        push: true,
        retry: false,
        headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': source.size },
        body: async () => (await source.open(0)).pipe(countingStream(onBytes)),
        accept: [201],
      });
      this.checkDigest(response, source.digest, `blob ${repository}@${source.digest}`);
    });
  }

  /** PATCH chunks; after a broken connection or a 5xx, asks the registry where it got to and goes on from there. */
  private async uploadChunked(repository: string, source: BlobSource, onBytes: (n: number) => void): Promise<void> {
    let location = await this.startUpload(repository);
    let offset = 0;
    let failures = 0;
    while (offset < source.size) {
      const end = Math.min(offset + this.chunkSize, source.size);
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
          body: async () => (await source.open(start, end)).pipe(countingStream(onBytes)),
          accept: [202],
        });
        location = this.location(response);
        offset = rangeEnd(response.headers.range as string | undefined) ?? end;
        failures = 0;
      } catch (error) {
        const lostPlace = error instanceof RegistryError && error.status === 416;
        if (!(isTransient(error) || lostPlace) || ++failures > this.retry.retries) throw error;
        await this.retry.sleep(retryDelayMs(this.retry, failures - 1));
        ({ location, offset } = await this.resumePoint(repository, location));
      }
    }
    const response = await this.send({
      method: 'PUT',
      url: this.withDigest(location, source.digest),
      repository,
      push: true,
      headers: { 'Content-Length': 0 },
      accept: [201],
    });
    this.checkDigest(response, source.digest, `blob ${repository}@${source.digest}`);
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
    return { location: await this.startUpload(repository), offset: 0 };
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
      try {
        response = await this.http.request({
          method: spec.method,
          url,
          headers: { ...spec.headers, ...(authorization ? { Authorization: authorization } : {}) },
          data: spec.body ? await spec.body() : undefined,
          responseType: spec.responseType ?? 'arraybuffer',
        });
      } catch (error) {
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

function isTransient(error: unknown): boolean {
  if (error instanceof RegistryError) return error.code === 'RETRYABLE' || (error.status === undefined && !!error.code);
  return isNetworkError(error);
}

/** `Range: 0-1234` -> 1235, the next offset to send. */
function rangeEnd(range: string | undefined): number | undefined {
  const match = /^(?:bytes=)?0-(\d+)$/.exec(range?.trim() ?? '');
  return match ? Number(match[1]) + 1 : undefined;
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
