// `model-source: https://...`: one file (an archive is unpacked), e.g. the Azure Blob SAS URL a Kubeflow pipeline
// wrote. The expected hash comes from a pip-style `#sha256=<hex>` fragment, else from the Content-MD5 /
// x-ms-blob-content-md5 header Azure Blob keeps for each blob; the size from Content-Length; the version from a
// `#version=` fragment or the blob's `x-ms-meta-version` metadata (else '' and the caller fills in the hash prefix).
import type { IncomingMessage } from 'node:http';
import {
  displayUri,
  ModelSourceError,
  safeRelativePath,
  type ExpectedHash,
  type ModelSourceRef,
  type RemoteFile,
  type ResolvedModel,
} from '../../core/model-source.js';
import { isNetworkError, isRetryableStatus } from '../registry/retry.js';
import { isArchiveName, withoutArchiveExtension } from './archive-name.js';
import { statusMeaning } from './body.js';
import { httpGet } from './http-get.js';

export interface HttpsSourceOptions {
  /** Sent with the HEAD and every GET (e.g. an Authorization header); values are secrets. */
  headers?: Record<string, string>;
  http?: { timeoutMs?: number; retries?: number; retryDelayMs?: number };
}

type HttpsRef = Extract<ModelSourceRef, { kind: 'https' }>;

export async function resolveHttps(ref: HttpsRef, options: HttpsSourceOptions = {}): Promise<ResolvedModel> {
  const label = `model-source ${displayUri(ref.uri)}`;
  const url = new URL(ref.url);
  const fragment = new URLSearchParams(url.hash.replace(/^#/, ''));
  url.hash = '';
  const segment = decodeURIComponent(url.pathname.split('/').pop() ?? '');
  if (!segment) throw new ModelSourceError(`${label}: the URL names no file (its path ends in '/')`);
  const path = safeRelativePath(segment, label);
  const head = await fileMetadata(url.toString(), label, options);
  const file: RemoteFile = {
    path,
    url: url.toString(),
    headers: options.headers,
    size: head.size,
    hash: fragmentHash(fragment, label) ?? head.md5,
    unpack: isArchiveName(path),
  };
  const version = fragment.get('version') ?? head.version ?? '';
  return { source: ref, name: withoutArchiveExtension(path), version, files: [file] };
}

function fragmentHash(fragment: URLSearchParams, label: string): ExpectedHash | undefined {
  for (const [algorithm, length] of [
    ['sha256', 64],
    ['md5', 32],
  ] as const) {
    const hex = fragment.get(algorithm);
    if (hex === null) continue;
    if (!new RegExp(`^[0-9a-fA-F]{${length}}$`).test(hex)) {
      throw new ModelSourceError(`${label}: #${algorithm}=${hex} is not ${length} hex digits`);
    }
    return { algorithm, hex: hex.toLowerCase() };
  }
  return undefined;
}

interface Head {
  size?: number;
  md5?: ExpectedHash;
  version?: string;
}

/**
 * The file's metadata from a HEAD. A URL signed for GET only (S3 presigned) refuses HEAD with 403, and some servers
 * do not do HEAD at all: then the first byte is asked for, whose Content-Range gives the size.
 */
async function fileMetadata(url: string, label: string, options: HttpsSourceOptions): Promise<Head> {
  let response = await request(url, 'HEAD', label, options);
  let ranged = false;
  if ([403, 405, 501].includes(response.statusCode ?? 0)) {
    response = await request(url, 'GET', label, options, { Range: 'bytes=0-0' });
    ranged = true;
  }
  response.resume();
  const status = response.statusCode ?? 0;
  const where = displayUri(url);
  if (status === 404 || status === 410) {
    throw new ModelSourceError(
      `${label}: not found (HTTP ${status} from ${where}): check the URL and that the file exists`,
    );
  }
  if (status >= 400) throw new ModelSourceError(`${label}: ${where} answered HTTP ${status}: ${statusMeaning(status)}`);
  const total = ranged
    ? /\/(\d+)$/.exec(String(response.headers['content-range'] ?? ''))?.[1]
    : response.headers['content-length'];
  const size = total !== undefined && /^\d+$/.test(total) ? Number(total) : undefined;
  // On a ranged GET, Content-MD5 would be the range's: only Azure's whole-blob header counts then.
  const md5 = (ranged ? undefined : header(response, 'content-md5')) ?? header(response, 'x-ms-blob-content-md5');
  return {
    size: status === 200 || ranged ? size : undefined,
    md5: md5 ? md5FromBase64(md5, label) : undefined,
    version: header(response, 'x-ms-meta-version'),
  };
}

function header(response: IncomingMessage, name: string): string | undefined {
  const value = response.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function md5FromBase64(value: string, label: string): ExpectedHash {
  const bytes = Buffer.from(value, 'base64');
  if (bytes.length !== 16) throw new ModelSourceError(`${label}: the server's Content-MD5 '${value}' is not an md5`);
  return { algorithm: 'md5', hex: bytes.toString('hex') };
}

/** One request, retried on network errors and 408/429/5xx. */
async function request(
  url: string,
  method: 'HEAD' | 'GET',
  label: string,
  options: HttpsSourceOptions,
  extra: Record<string, string> = {},
): Promise<IncomingMessage> {
  const retries = options.http?.retries ?? 3;
  for (let attempt = 0; ; attempt++) {
    let failure: string;
    try {
      const response = await httpGet(url, {
        method,
        headers: { ...options.headers, ...extra },
        timeoutMs: options.http?.timeoutMs ?? 30000,
      });
      if (!isRetryableStatus(response.statusCode ?? 0)) return response;
      response.resume();
      failure = `HTTP ${response.statusCode}: ${statusMeaning(response.statusCode ?? 0)}`;
    } catch (error) {
      failure = (error as Error).message;
      if (!isNetworkError(error))
        throw new ModelSourceError(`${label}: ${method} ${displayUri(url)} failed: ${failure}`);
    }
    if (attempt >= retries) {
      throw new ModelSourceError(`${label}: ${method} ${displayUri(url)} failed ${attempt + 1} times: ${failure}`);
    }
    await new Promise((resolve) => setTimeout(resolve, (options.http?.retryDelayMs ?? 500) * 2 ** attempt));
  }
}
