// One GET (or HEAD) over node:http/https, redirects followed by hand. node:http and not axios here because the
// downloader needs three things axios makes awkward: a socket idle timeout that covers the body as much as the
// headers, redirects that buffer and replay nothing (axios' follow-redirects does), and the caller's secret headers
// dropped when a redirect leaves the origin (the signed URL it points to needs none).
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
/** Headers that describe the byte range, kept across origins; everything else the caller sent may be a secret. */
const RANGE_HEADERS = new Set(['range', 'if-range']);

export interface HttpGetOptions {
  method?: 'GET' | 'HEAD';
  headers?: Record<string, string>;
  /** The socket may sit idle this long, headers and body alike, before the request fails. */
  timeoutMs: number;
  maxRedirects?: number;
  signal?: AbortSignal;
}

export class IdleTimeoutError extends Error {
  readonly code = 'ETIMEDOUT';
}

/** The final response (after redirects), not yet read; the caller consumes or destroys it. */
export async function httpGet(url: string, options: HttpGetOptions): Promise<IncomingMessage> {
  let target = new URL(url);
  let headers = { ...options.headers };
  for (let redirects = 0; ; redirects++) {
    const response = await requestOnce(target, headers, options);
    const location = response.headers.location;
    if (!REDIRECTS.has(response.statusCode ?? 0) || !location) return response;
    response.resume();
    if (redirects >= (options.maxRedirects ?? 5)) {
      throw new Error(`more than ${options.maxRedirects ?? 5} redirects`);
    }
    const next = new URL(location, target);
    if (next.origin !== target.origin) {
      headers = Object.fromEntries(Object.entries(headers).filter(([name]) => RANGE_HEADERS.has(name.toLowerCase())));
    }
    target = next;
  }
}

function requestOnce(url: URL, headers: Record<string, string>, options: HttpGetOptions): Promise<IncomingMessage> {
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const request = send(url, { method: options.method ?? 'GET', headers, signal: options.signal }, resolve);
    request.setTimeout(options.timeoutMs, () =>
      request.destroy(new IdleTimeoutError(`no data for ${options.timeoutMs} ms`)),
    );
    request.on('error', reject);
    request.end();
  });
}
