// A fake Azure Blob Storage on 127.0.0.1, path-style as Azurite is (`/<account>/<container>/<blob>`). It follows the
// Storage REST documents "List Blobs" (restype=container&comp=list, prefix / marker / maxresults / include=metadata,
// EnumerationResults XML, NextMarker), "Get Blob" (Range and x-ms-range, 206 + Content-Range, Content-MD5 on whole
// reads, x-ms-blob-content-md5 on ranges, ETag, Last-Modified), "Create a service SAS" (sv 2020-12-06 and later
// string-to-sign, checked against the account key; sp r/l, sr c/b, se) and "Authorize with Microsoft Entra ID"
// (Bearer token for https://storage.azure.com/, needs x-ms-version), with the XML error body
// `<Error><Code>..</Code><Message>..</Message></Error>` and the x-ms-error-code header.
// Simplified: block blobs only, no snapshots/versions, no stored access policies (si), no IP ranges (sip), no
// user delegation SAS, no conditional headers, no Retry-After on 503; anonymous access is always refused (404 ResourceNotFound, as for a
// private container); a few error codes are the nearest documented ones rather than byte-exact.
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LOOPBACK } from './local.js';

export interface StoredBlob {
  data: Buffer;
  /** Base64 Content-MD5; absent when the uploader set none (large blobs uploaded in blocks). */
  contentMd5?: string;
  etag: string;
  lastModified: Date;
  folder?: boolean;
}

export interface BlobRequest {
  method: string;
  account: string;
  container: string;
  blob: string;
  query: Record<string, string>;
  auth: 'sas' | 'bearer' | 'none';
  range?: string;
}

export interface FakeAzureBlob {
  url: string;
  requests: BlobRequest[];
  /** Most blobs per List Blobs page, whatever maxresults asks (small, so listings paginate). */
  pageSize: number;
  /** Bearer tokens for https://storage.azure.com/: whether the identity has a data-reader role. */
  bearerTokens: Map<string, { authorized: boolean }>;
  /** Answer this many requests 503 ServerBusy before serving again. */
  failNext: number;
  /** The next blob GET stops after this many body bytes (connection destroyed). */
  dropNextAfterBytes?: number;
  /** The next blob GET serves this byte offset flipped. */
  corruptNextAt?: number;
  addAccount(account: string): string;
  accountKey(account: string): string;
  putBlob(
    account: string,
    container: string,
    name: string,
    data: Buffer,
    options?: { md5?: boolean; folder?: boolean },
  ): StoredBlob;
  containerUrl(account: string, container: string): string;
  /** A read+list container SAS signed with the account key, as Azure ML hands out. */
  containerSas(account: string, container: string, expiry: Date): string;
  close(): Promise<void>;
}

const BEARER_MIN_VERSION = '2017-11-09';

export async function startFakeAzureBlob(options: { now?: () => Date } = {}): Promise<FakeAzureBlob> {
  const now = options.now ?? (() => new Date());
  const keys = new Map<string, string>();
  const blobs = new Map<string, Map<string, StoredBlob>>(); // "account/container" -> name -> blob
  let etagCounter = 1;

  const fake: FakeAzureBlob = {
    url: '',
    requests: [],
    pageSize: 2,
    failNext: 0,
    bearerTokens: new Map(),
    addAccount(account) {
      if (!keys.has(account)) keys.set(account, randomBytes(64).toString('base64'));
      return keys.get(account)!;
    },
    accountKey(account) {
      const key = keys.get(account);
      if (!key) throw new Error(`fake blob storage has no account ${account}`);
      return key;
    },
    putBlob(account, container, name, data, put = {}) {
      fake.addAccount(account);
      const key = `${account}/${container}`;
      if (!blobs.has(key)) blobs.set(key, new Map());
      const blob: StoredBlob = {
        data,
        contentMd5: put.md5 === false ? undefined : createHash('md5').update(data).digest('base64'),
        etag: `"0x8DC${(etagCounter++).toString(16).toUpperCase().padStart(12, '0')}"`,
        lastModified: now(),
        folder: put.folder,
      };
      blobs.get(key)!.set(name, blob);
      return blob;
    },
    containerUrl: (account, container) => `${fake.url}/${account}/${container}`,
    containerSas(account, container, expiry) {
      const params: Array<[string, string]> = [
        ['sv', '2023-11-03'],
        ['sr', 'c'],
        ['sp', 'rl'],
        ['se', expiry.toISOString().replace(/\.\d{3}Z$/, 'Z')],
        ['spr', 'https,http'],
      ];
      const query = new URLSearchParams(params);
      query.set('sig', signature(fake.accountKey(account), query, `/blob/${account}/${container}`));
      return query.toString();
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };

  const server = createServer((request, response) => {
    try {
      handle(request, response);
    } catch (error) {
      storageError(response, 500, 'InternalError', String(error));
    }
  });

  function handle(request: IncomingMessage, response: ServerResponse): void {
    const url = new URL(request.url ?? '/', 'http://fake');
    const [account = '', container = '', ...rest] = url.pathname.split('/').slice(1).map(decodeURIComponent);
    const blob = rest.join('/');
    const query = Object.fromEntries(url.searchParams);
    const authorization = request.headers.authorization;
    const auth: BlobRequest['auth'] = query.sig ? 'sas' : authorization ? 'bearer' : 'none';
    const range = (request.headers['x-ms-range'] as string | undefined) ?? request.headers.range;
    fake.requests.push({ method: request.method ?? '', account, container, blob, query, auth, range });

    if (fake.failNext > 0) {
      fake.failNext--;
      return storageError(response, 503, 'ServerBusy', 'The server is currently unable to receive requests.');
    }
    const isList = !blob && query.restype === 'container' && query.comp === 'list';
    if (!keys.has(account)) return storageError(response, 400, 'InvalidUri', `No account ${account}.`);
    const denied = authorize(request, query, auth, account, container, blob, isList ? 'l' : 'r');
    if (denied) return storageError(response, denied.status, denied.code, denied.message);
    const stored = blobs.get(`${account}/${container}`);
    if (!stored) return storageError(response, 404, 'ContainerNotFound', 'The specified container does not exist.');
    if (isList && request.method === 'GET') return list(response, stored, query);
    if (!blob || (request.method !== 'GET' && request.method !== 'HEAD')) {
      return storageError(response, 400, 'UnsupportedHttpVerb', 'The resource does not support the HTTP verb.');
    }
    const found = stored.get(blob);
    if (!found) return storageError(response, 404, 'BlobNotFound', 'The specified blob does not exist.');
    serveBlob(request, response, found, range);
  }

  function authorize(
    request: IncomingMessage,
    query: Record<string, string>,
    auth: BlobRequest['auth'],
    account: string,
    container: string,
    blob: string,
    permission: 'r' | 'l',
  ): { status: number; code: string; message: string } | undefined {
    if (auth === 'none')
      return { status: 404, code: 'ResourceNotFound', message: 'The specified resource does not exist.' };
    if (auth === 'bearer') {
      const token = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1] ?? '';
      const version = request.headers['x-ms-version'];
      if (typeof version !== 'string' || version < BEARER_MIN_VERSION) {
        return {
          status: 400,
          code: 'InvalidHeaderValue',
          message: 'Authentication scheme Bearer is not supported in this version (set x-ms-version).',
        };
      }
      const identity = fake.bearerTokens.get(token);
      if (!identity) {
        return {
          status: 401,
          code: 'InvalidAuthenticationInfo',
          message: 'Server failed to authenticate the request.',
        };
      }
      if (!identity.authorized) {
        return {
          status: 403,
          code: 'AuthorizationPermissionMismatch',
          message: 'This request is not authorized to perform this operation using this permission.',
        };
      }
      return undefined;
    }
    const failed = { status: 403, code: 'AuthenticationFailed', message: 'Server failed to authenticate the request.' };
    const { sv, sr, sp, se } = query;
    if (!sv || !sr || !sp || !se || sv < '2020-12-06') return failed;
    const resource = sr === 'c' ? `/blob/${account}/${container}` : `/blob/${account}/${container}/${blob}`;
    if (sr !== 'c' && sr !== 'b') return failed;
    const params = new URLSearchParams(query);
    if (signature(keys.get(account)!, params, resource) !== query.sig) return failed;
    if (Date.parse(se) <= now().getTime() || (query.st && Date.parse(query.st) > now().getTime())) return failed;
    if (!sp.includes(permission)) {
      return {
        status: 403,
        code: 'AuthorizationPermissionMismatch',
        message: 'This request is not authorized to perform this operation using this permission.',
      };
    }
    return undefined;
  }

  function list(response: ServerResponse, stored: Map<string, StoredBlob>, query: Record<string, string>): void {
    const prefix = query.prefix ?? '';
    const asked = Number(query.maxresults ?? 5000);
    const pageSize = Math.max(1, Math.min(asked, fake.pageSize));
    const after = query.marker ? Buffer.from(query.marker, 'base64url').toString() : '';
    const names = [...stored.keys()].filter((name) => name.startsWith(prefix) && name > after).sort();
    const page = names.slice(0, pageSize);
    const next = names.length > pageSize ? Buffer.from(page[page.length - 1]!).toString('base64url') : '';
    const items = page.map((name) => {
      const blob = stored.get(name)!;
      const metadata = query.include?.split(',').includes('metadata')
        ? `<Metadata>${blob.folder ? '<hdi_isfolder>true</hdi_isfolder>' : ''}</Metadata>`
        : '';
      return (
        `<Blob><Name>${xml(name)}</Name><Properties><Last-Modified>${blob.lastModified.toUTCString()}</Last-Modified>` +
        `<Etag>${blob.etag}</Etag><Content-Length>${blob.data.length}</Content-Length>` +
        `<Content-Type>application/octet-stream</Content-Type>` +
        (blob.contentMd5 ? `<Content-MD5>${blob.contentMd5}</Content-MD5>` : '<Content-MD5 />') +
        `<BlobType>BlockBlob</BlobType><LeaseStatus>unlocked</LeaseStatus></Properties>${metadata}</Blob>`
      );
    });
    const body =
      `<?xml version="1.0" encoding="utf-8"?><EnumerationResults ServiceEndpoint="${fake.url}/" ContainerName="">` +
      `<Prefix>${xml(prefix)}</Prefix>${query.marker ? `<Marker>${xml(query.marker)}</Marker>` : ''}` +
      `<MaxResults>${pageSize}</MaxResults><Blobs>${items.join('')}</Blobs>` +
      (next ? `<NextMarker>${next}</NextMarker>` : '<NextMarker />') +
      '</EnumerationResults>';
    response.writeHead(200, { 'content-type': 'application/xml', 'x-ms-version': '2023-11-03' });
    response.end(body);
  }

  function serveBlob(request: IncomingMessage, response: ServerResponse, blob: StoredBlob, range?: string): void {
    const size = blob.data.length;
    const headers: Record<string, string | number> = {
      'content-type': 'application/octet-stream',
      etag: blob.etag,
      'last-modified': blob.lastModified.toUTCString(),
      'accept-ranges': 'bytes',
      'x-ms-blob-type': 'BlockBlob',
      'x-ms-version': '2023-11-03',
    };
    let start = 0;
    let end = size - 1;
    let status = 200;
    if (range) {
      const match = /^bytes=(\d+)-(\d*)$/.exec(range);
      if (!match || Number(match[1]) >= size) {
        response.setHeader('content-range', `bytes */${size}`);
        return storageError(
          response,
          416,
          'InvalidRange',
          'The range specified is invalid for the current size of the resource.',
        );
      }
      start = Number(match[1]);
      end = match[2] ? Math.min(Number(match[2]), size - 1) : size - 1;
      status = 206;
      headers['content-range'] = `bytes ${start}-${end}/${size}`;
      if (blob.contentMd5) headers['x-ms-blob-content-md5'] = blob.contentMd5;
    } else if (blob.contentMd5) {
      headers['content-md5'] = blob.contentMd5;
    }
    let body = blob.data.subarray(start, end + 1);
    headers['content-length'] = body.length;
    response.writeHead(status, headers);
    if (request.method === 'HEAD') return void response.end();
    if (fake.corruptNextAt !== undefined) {
      const at = fake.corruptNextAt - start;
      fake.corruptNextAt = undefined;
      if (at >= 0 && at < body.length) {
        body = Buffer.from(body);
        body[at] = body[at]! ^ 0xff;
      }
    }
    if (fake.dropNextAfterBytes !== undefined) {
      const cut = fake.dropNextAfterBytes;
      fake.dropNextAfterBytes = undefined;
      response.write(body.subarray(0, cut), () => response.destroy());
      return;
    }
    response.end(body);
  }

  await new Promise<void>((resolve) => server.listen(0, LOOPBACK, resolve));
  fake.url = `http://${LOOPBACK}:${(server.address() as AddressInfo).port}`;
  return fake;
}

/** The service SAS signature over the documented field order (2020-12-06 and later), read from the query itself. */
function signature(accountKey: string, query: URLSearchParams, canonicalizedResource: string): string {
  const field = (name: string): string => query.get(name) ?? '';
  const lines = [field('sp'), field('st'), field('se'), canonicalizedResource, field('si'), field('sip')];
  lines.push(field('spr'), field('sv'), field('sr'), field('sst'), field('ses'));
  lines.push(field('rscc'), field('rscd'), field('rsce'), field('rscl'), field('rsct'));
  return createHmac('sha256', Buffer.from(accountKey, 'base64')).update(lines.join('\n')).digest('base64');
}

function xml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function storageError(response: ServerResponse, status: number, code: string, message: string): void {
  const requestId = randomBytes(16).toString('hex');
  response.writeHead(status, {
    'content-type': 'application/xml',
    'x-ms-error-code': code,
    'x-ms-request-id': requestId,
  });
  response.end(
    `<?xml version="1.0" encoding="utf-8"?><Error><Code>${code}</Code><Message>${xml(message)}\n` +
      `RequestId:${requestId}\nTime:${new Date().toISOString()}</Message></Error>`,
  );
}
