// Azure Blob Storage, as far as a model resolver needs it: parse a blob URL, sign a read+list container SAS from an
// account key, and list the blobs under a prefix (List Blobs, following NextMarker). Follows the Storage REST
// documents "List Blobs", "Create a service SAS" and "Authorize with Microsoft Entra ID" (x-ms-version 2023-11-03).
import type { AxiosInstance } from 'axios';
import { createHmac } from 'node:crypto';
import { ModelSourceError } from '../../core/model-source.js';
import { isRetryableStatus } from '../registry/retry.js';
import { sourceSafe } from './azureml-api.js';

export const STORAGE_API_VERSION = '2023-11-03';
/** The Azure AD audience of Blob Storage. */
export const STORAGE_RESOURCE = 'https://storage.azure.com/';

/** One container, by account name and its URL (no query); path-style for an IP host, as Azurite uses. */
export interface BlobContainer {
  account: string;
  container: string;
  url: string;
}

/** How requests to a container are authorized: a SAS query (no `?`) or headers (a Bearer token). */
export interface BlobAccess {
  sas?: string;
  headers: Record<string, string>;
}

export interface BlobItem {
  name: string;
  size: number;
  /** Lowercase hex of the blob's Content-MD5, when the blob has one. */
  md5?: string;
  etag?: string;
}

const IP_OR_LOCAL_HOST = /^(\d{1,3}(\.\d{1,3}){3}|localhost|\[[0-9a-f:]+\])$/i;

/** `https://<account>.blob.<suffix>/<container>/<path>` (or `http://127.0.0.1:port/<account>/<container>/<path>`). */
export function parseBlobUrl(uri: string): { container: BlobContainer; path: string } | undefined {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return undefined;
  }
  const segments = url.pathname.split('/').filter((part) => part !== '');
  const pathStyle = IP_OR_LOCAL_HOST.test(url.hostname);
  const account = pathStyle ? segments.shift() : url.hostname.split('.')[0];
  const container = segments.shift();
  if (!account || !container) return undefined;
  const base = pathStyle ? `${url.protocol}//${url.host}/${account}` : `${url.protocol}//${url.host}`;
  return {
    container: { account, container: decodeURIComponent(container), url: `${base}/${container}` },
    path: segments.map(decodeURIComponent).join('/'),
  };
}

/** The URL of one blob: each name segment percent-encoded, the SAS (if any) as the query. */
export function blobUrl(container: BlobContainer, name: string, sas?: string): string {
  const path = name.split('/').map(encodeURIComponent).join('/');
  return `${container.url}/${path}${sas ? `?${sas}` : ''}`;
}

/**
 * A service SAS for a whole container with read and list rights, signed with the account key (what the storage
 * SDK's generate_container_sas does): the downloader can then GET any byte range without signing each request.
 */
export function containerSas(
  container: BlobContainer,
  accountKey: string,
  expiry: Date,
  version = STORAGE_API_VERSION,
): string {
  const fields = {
    sp: 'rl',
    st: '',
    se: expiry.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    sr: 'c',
    spr: 'https,http',
    sv: version,
  };
  const sig = serviceSasSignature(
    { ...fields, canonicalizedResource: `/blob/${container.account}/${container.container}` },
    accountKey,
  );
  const query = new URLSearchParams({ sv: fields.sv, sr: fields.sr, sp: fields.sp, se: fields.se, spr: fields.spr });
  query.set('sig', sig);
  return query.toString();
}

export interface ServiceSasFields {
  sp: string;
  st?: string;
  se: string;
  canonicalizedResource: string;
  si?: string;
  sip?: string;
  spr?: string;
  sv: string;
  sr: string;
}

/** The signature of a service SAS, version 2020-12-06 and later (snapshot, encryption scope, rs* left empty). */
export function serviceSasSignature(fields: ServiceSasFields, accountKey: string): string {
  const stringToSign = [
    fields.sp,
    fields.st ?? '',
    fields.se,
    fields.canonicalizedResource,
    fields.si ?? '',
    fields.sip ?? '',
    fields.spr ?? '',
    fields.sv,
    fields.sr,
    '', // signedSnapshotTime
    '', // signedEncryptionScope
    '', // rscc
    '', // rscd
    '', // rsce
    '', // rscl
    '', // rsct
  ].join('\n');
  return createHmac('sha256', Buffer.from(accountKey, 'base64')).update(stringToSign, 'utf8').digest('base64');
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function xmlText(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|\w+);/gi, (whole, entity: string) => {
    if (entity.startsWith('#x') || entity.startsWith('#X')) return String.fromCodePoint(parseInt(entity.slice(2), 16));
    if (entity.startsWith('#')) return String.fromCodePoint(parseInt(entity.slice(1), 10));
    return ENTITIES[entity] ?? whole;
  });
}

function element(xml: string, name: string): { text: string; attributes: string } | undefined {
  const match = new RegExp(`<${name}(\\s[^>]*)?(?:/>|>([\\s\\S]*?)</${name}>)`).exec(xml);
  return match ? { text: xmlText(match[2] ?? ''), attributes: match[1] ?? '' } : undefined;
}

/**
 * One page of a List Blobs answer (`EnumerationResults`). Directory markers of hierarchical-namespace accounts
 * (metadata `hdi_isfolder=true`) are left out: they hold no bytes.
 */
export function parseBlobList(xml: string): { blobs: BlobItem[]; nextMarker?: string } {
  const blobs: BlobItem[] = [];
  for (const [, body] of xml.matchAll(/<Blob>([\s\S]*?)<\/Blob>/g)) {
    const nameElement = element(body!, 'Name');
    if (!nameElement) continue;
    // Names with characters XML cannot carry come percent-encoded, marked Encoded="true".
    const name = /Encoded\s*=\s*"true"/i.test(nameElement.attributes)
      ? decodeURIComponent(nameElement.text)
      : nameElement.text;
    if (/<hdi_isfolder>\s*true\s*<\/hdi_isfolder>/i.test(body!)) continue;
    const md5 = element(body!, 'Content-MD5')?.text.trim();
    blobs.push({
      name,
      size: Number(element(body!, 'Content-Length')?.text ?? 0),
      md5: md5 ? Buffer.from(md5, 'base64').toString('hex') : undefined,
      etag: element(body!, 'Etag')?.text,
    });
  }
  const nextMarker = element(xml, 'NextMarker')?.text.trim();
  return { blobs, nextMarker: nextMarker || undefined };
}

/** The `<Code>` of a Storage XML error body (or the x-ms-error-code header): never the message, which can quote the request. */
export function storageErrorCode(body: unknown, headers: Record<string, unknown>): string {
  const header = headers['x-ms-error-code'];
  if (typeof header === 'string' && header) return header;
  return typeof body === 'string' ? (element(body, 'Code')?.text ?? 'no error code') : 'no error code';
}

export interface ListBlobsRequest {
  container: BlobContainer;
  prefix: string;
  access: BlobAccess;
  /** Names the model in errors. */
  source: string;
  /** Says which role to ask for on a 403. */
  roleHint: string;
  pageSize?: number;
}

/** Every blob whose name starts with `prefix`, across all pages. */
export async function listBlobs(http: AxiosInstance, request: ListBlobsRequest): Promise<BlobItem[]> {
  const { container, prefix, access, source } = request;
  const where = `storage account ${container.account}, container ${container.container}`;
  const blobs: BlobItem[] = [];
  let marker: string | undefined;
  for (let page = 0; page < 100000; page++) {
    const query = new URLSearchParams({ restype: 'container', comp: 'list', prefix, include: 'metadata' });
    if (request.pageSize) query.set('maxresults', String(request.pageSize));
    if (marker) query.set('marker', marker);
    const url = `${container.url}?${query.toString()}${access.sas ? `&${access.sas}` : ''}`;
    const response = await sourceSafe(
      http.get<string>(url, {
        headers: { 'x-ms-version': STORAGE_API_VERSION, ...access.headers },
        responseType: 'text',
        validateStatus: (status) => !isRetryableStatus(status),
      }),
      (message) => `${source}: listing ${where} failed: ${message}`,
    );
    if (response.status !== 200) {
      const code = storageErrorCode(response.data, response.headers as Record<string, unknown>);
      const fix =
        response.status === 403 || response.status === 401
          ? `: ${request.roleHint}`
          : response.status === 404
            ? ': the model was registered from storage that no longer exists'
            : '';
      throw new ModelSourceError(
        `${source}: listing ${where} under '${prefix}' failed with HTTP ${response.status} ${code}${fix}`,
      );
    }
    const result = parseBlobList(response.data);
    blobs.push(...result.blobs);
    marker = result.nextMarker;
    if (!marker) return blobs;
  }
  throw new ModelSourceError(`${source}: listing ${where} did not end after 100000 pages`);
}
