// Opening the bytes of one remote file from an offset: a GET with Range / If-Range, or the resolver's own `open`.
// The answer says whether the bytes start at the offset asked for or at zero (a 200 to a Range means start over).
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import type { RemoteFile } from '../../core/model-source.js';
import { isRetryableStatus } from '../registry/retry.js';
import { httpGet } from './http-get.js';

export interface OpenedBody {
  stream: Readable | NodeJS.ReadableStream;
  /** The bytes start at 0, whatever offset was asked for. */
  fromZero: boolean;
  /** The whole file's size as the server states it. */
  total?: number;
  /** ETag (strong) or Last-Modified, for If-Range on the next resume. */
  validator?: string;
}

/** Why one attempt failed, and what the next one should do. */
export class AttemptFailure extends Error {
  constructor(
    message: string,
    readonly permanent: boolean,
    readonly options: { restart?: boolean; retryAfter?: string; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
  }
}

const STATUS_MEANING: Record<number, string> = {
  400: 'the server refused the request as malformed (is the URL complete?)',
  401: 'credentials are missing or wrong',
  403:
    'access denied: a signed URL (Azure SAS, S3 presigned) may have expired or lack read permission, ' +
    'or the credentials may not read it',
  404: 'not found: nothing at this path (a wrong path or version, or the file was deleted)',
  410: 'gone: the file was deleted',
};

export function statusMeaning(status: number): string {
  return STATUS_MEANING[status] ?? (status >= 500 ? 'a server error' : 'the server refused the request');
}

/** An HTTP status that is not an answer with bytes: 4xx end the download, 408/429/5xx are retried. */
export function statusFailure(status: number, where: string, retryAfter?: string): AttemptFailure {
  return new AttemptFailure(`${where} answered HTTP ${status}: ${statusMeaning(status)}`, !isRetryableStatus(status), {
    retryAfter,
  });
}

export async function openBody(
  file: RemoteFile,
  start: number,
  validator: string | undefined,
  options: { timeoutMs: number; signal: AbortSignal },
): Promise<OpenedBody> {
  if (file.open) return openWithResolver(file, start);
  const headers: Record<string, string> = { ...file.headers };
  if (start > 0) {
    headers.Range = `bytes=${start}-`;
    if (validator) headers['If-Range'] = validator;
  }
  // The caller's message names the file and its URL already.
  const where = 'the server';
  const response = await httpGet(file.url, { headers, timeoutMs: options.timeoutMs, signal: options.signal });
  const status = response.statusCode ?? 0;
  if (status === 200) {
    const length = Number(response.headers['content-length']);
    return {
      stream: response,
      fromZero: true,
      total: Number.isFinite(length) ? length : undefined,
      ...validatorOf(response),
    };
  }
  if (status === 206) {
    const range = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(response.headers['content-range'] ?? '');
    if (!range || Number(range[1]) !== start) {
      response.destroy();
      throw new AttemptFailure(`${where} answered another range than bytes=${start}-`, false, { restart: true });
    }
    return { stream: response, fromZero: false, total: range[3] === '*' ? undefined : Number(range[3]), validator };
  }
  response.resume();
  if (status === 416) {
    throw new AttemptFailure(`${where} refused the range bytes=${start}- (HTTP 416)`, false, { restart: true });
  }
  throw statusFailure(status, where, response.headers['retry-after']);
}

function validatorOf(response: IncomingMessage): { validator?: string } {
  const etag = response.headers.etag;
  // A weak ETag may not be used in If-Range (RFC 9110 13.1.5); Last-Modified then.
  if (etag && !etag.startsWith('W/')) return { validator: etag };
  const lastModified = response.headers['last-modified'];
  return lastModified ? { validator: lastModified } : {};
}

async function openWithResolver(file: RemoteFile, start: number): Promise<OpenedBody> {
  let stream: NodeJS.ReadableStream;
  try {
    stream = await file.open!(start);
  } catch (error) {
    const status = (error as { status?: number }).status;
    const message = (error as Error).message;
    throw new AttemptFailure(message, status !== undefined && !isRetryableStatus(status), { cause: error });
  }
  return { stream, fromZero: start === 0, total: file.size };
}
