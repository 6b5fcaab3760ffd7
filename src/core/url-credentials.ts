// Credentials ride in URLs: `https://user:password@host`, a token as the user, Azure SAS `?sig=`, `?access_token=`.
// Two rules keep them where they belong. Redaction: no URL reaches a message, an error, a comment, a summary, a log or
// a report with them (GitHub masks registered secrets in logs, not in comments, and a password inside a URL is not
// registered unless someone thinks to). Transport: a credential goes over plain http only to this machine. Pure.

/**
 * Query parameters whose value is a credential: Azure SAS signatures, OAuth and API tokens, S3 and GCS presigned
 * signatures. The other SAS / presign fields (expiry, permissions) are not secret and stay readable.
 */
const SECRET_PARAMS = [
  'sig',
  'signature',
  'token',
  'access_token',
  'id_token',
  'refresh_token',
  'auth_token',
  'api_key',
  'api-key',
  'apikey',
  'key',
  'password',
  'passwd',
  'secret',
  'client_secret',
  'x-amz-signature',
  'x-amz-credential',
  'x-amz-security-token',
  'x-goog-signature',
  'x-goog-credential',
];

/** Characters that end a URL inside prose, JSON, Markdown or HTML. */
const END = `\\s"'<>\`\\\\`;
/**
 * `scheme://` then the userinfo: everything up to the last `@` before the authority ends (`/`, `?`, `#`), as the
 * WHATWG URL parser reads it, so a password holding an `@` of its own is removed whole.
 */
const USERINFO = new RegExp(`\\b([a-z][a-z0-9+.-]*://)([^/?#${END}]*)@`, 'gi');
const SECRET_QUERY = new RegExp(`([?&;](?:${SECRET_PARAMS.join('|')})=)[^&#${END}]*`, 'gi');
/**
 * Azure storage URIs name the container where a user goes (`wasbs://<container>@<account>.blob...`): a name, not a
 * secret, and what a reader needs to find the data. A password after it is still removed.
 */
const CONTAINER_SCHEMES = new Set(['wasb://', 'wasbs://', 'abfs://', 'abfss://']);
/** A whole URL, for finding the secrets in one. */
const URL_TOKEN = new RegExp(`\\b[a-z][a-z0-9+.-]*://[^${END}]+`, 'gi');

/** `text` with every URL's userinfo dropped and every secret query parameter's value replaced by `***`. */
export function redactUrls(text: string): string {
  return text
    .replace(USERINFO, (whole, scheme: string, userinfo: string) =>
      CONTAINER_SCHEMES.has(scheme.toLowerCase()) && !userinfo.includes(':') ? whole : scheme,
    )
    .replace(SECRET_QUERY, '$1***');
}

function decoded(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/**
 * The secret parts of the URLs in `text`, as written and percent-decoded, for masking: the password of a userinfo
 * (the user alone when there is no password: a token given as the user, `https://<token>@host`) and the values of
 * secret query parameters.
 */
export function urlSecrets(text: string): string[] {
  const secrets = new Set<string>();
  for (const [url] of text.matchAll(URL_TOKEN)) {
    const [, scheme = '', userinfo] = new RegExp(USERINFO.source, 'i').exec(url) ?? [];
    if (userinfo && (userinfo.includes(':') || !CONTAINER_SCHEMES.has(scheme.toLowerCase()))) {
      const colon = userinfo.indexOf(':');
      const secret = colon >= 0 ? userinfo.slice(colon + 1) : userinfo;
      for (const form of [secret, decoded(secret)]) secrets.add(form);
    }
    for (const match of url.matchAll(SECRET_QUERY)) {
      const value = match[0].slice(match[1]!.length);
      for (const form of [value, decoded(value)]) secrets.add(form);
    }
  }
  secrets.delete('');
  return [...secrets];
}

/** This machine, where plain http crosses no network: the host names and addresses Docker treats so too. */
export function isLoopbackHost(hostname: string): boolean {
  return ['localhost', '127.0.0.1', '::1', '[::1]'].includes(hostname.toLowerCase());
}

/** The host a plain-http URL would send to in clear when it is not this machine; undefined for https or loopback. */
export function clearTextHost(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  return parsed.protocol === 'http:' && !isLoopbackHost(parsed.hostname) ? parsed.hostname : undefined;
}

/** Whether the URL carries a user or password of its own (HTTP clients send it as Basic auth). */
export function hasUserinfo(url: string): boolean {
  try {
    const parsed = new URL(url);
    return parsed.username !== '' || parsed.password !== '';
  } catch {
    return false;
  }
}
