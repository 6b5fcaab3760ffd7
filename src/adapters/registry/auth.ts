// Registry authentication: the `WWW-Authenticate` challenge, Basic, and Bearer tokens per scope (the Docker
// token protocol, GET with Basic credentials or OAuth2 POST with a refresh token, as ACR's /oauth2/token takes).
import axios, { type AxiosInstance } from 'axios';
import { isPlainHttpRegistry } from '../../core/image-ref.js';

export type RegistryCredentials =
  | { kind: 'anonymous' }
  | { kind: 'basic'; username: string; password: string }
  /** An OAuth2 refresh token, e.g. ACR's from /oauth2/exchange; traded at the token realm per scope. */
  | { kind: 'refresh-token'; refreshToken: string; username?: string };

export interface Challenge {
  scheme: 'basic' | 'bearer';
  params: Record<string, string>;
}

/** Parses `Bearer realm="https://x/token",service="x",scope="repository:a:pull"` (or `Basic realm="..."`). */
export function parseChallenge(header: string | undefined): Challenge | undefined {
  if (!header) return undefined;
  const match = /^\s*(\w+)\s*(.*)$/s.exec(header);
  if (!match) return undefined;
  const scheme = match[1]!.toLowerCase();
  if (scheme !== 'basic' && scheme !== 'bearer') return undefined;
  const params: Record<string, string> = {};
  const pattern = /([\w-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g;
  for (const part of (match[2] ?? '').matchAll(pattern)) {
    params[part[1]!.toLowerCase()] = (part[2] ?? part[3] ?? '').replace(/\\(.)/g, '$1');
  }
  return { scheme, params };
}

export function repositoryScope(repository: string, actions: 'pull' | 'pull,push'): string {
  return `repository:${repository}:${actions}`;
}

export interface TokenAuthOptions {
  registry: string;
  credentials: RegistryCredentials;
  /** Called with every token and password obtained, so the action can hide it (core.setSecret). */
  mask?: (secret: string) => void;
  http?: AxiosInstance;
  timeoutMs?: number;
}

/** Remembers the registry's challenge and keeps one Bearer token per scope set. */
export class RegistryAuth {
  private challenge: Challenge | undefined;
  private readonly tokens = new Map<string, string>();
  private readonly http: AxiosInstance;

  constructor(private readonly options: TokenAuthOptions) {
    this.http = options.http ?? axios.create({ timeout: options.timeoutMs ?? 30000 });
    const { credentials } = options;
    if (credentials.kind === 'basic') options.mask?.(credentials.password);
    if (credentials.kind === 'refresh-token') options.mask?.(credentials.refreshToken);
  }

  /** The Authorization header for a request needing `scopes`, or none before the first challenge. */
  async header(scopes: string[]): Promise<string | undefined> {
    if (!this.challenge) return undefined;
    if (this.challenge.scheme === 'basic') return this.basicHeader();
    const key = scopes.slice().sort().join(' ');
    let token = this.tokens.get(key);
    if (!token) {
      token = await this.fetchToken(scopes);
      this.tokens.set(key, token);
    }
    return `Bearer ${token}`;
  }

  /**
   * Called on a 401: learns the challenge and forgets a rejected token. Returns whether one more try can help
   * (not when these credentials were already sent and refused).
   */
  onUnauthorized(wwwAuthenticate: string | undefined, scopes: string[], hadHeader: boolean): boolean {
    const challenge = parseChallenge(wwwAuthenticate);
    if (!challenge) return false;
    this.challenge = challenge;
    if (challenge.scheme === 'bearer') return this.tokens.delete(scopes.slice().sort().join(' ')) || !hadHeader;
    return !hadHeader && this.options.credentials.kind !== 'anonymous';
  }

  private basicHeader(): string | undefined {
    const { credentials } = this.options;
    if (credentials.kind === 'anonymous') return undefined;
    const [user, password] =
      credentials.kind === 'basic'
        ? [credentials.username, credentials.password]
        : [credentials.username ?? ACR_REFRESH_TOKEN_USER, credentials.refreshToken];
    return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  }

  private tokenRequest(realm: string, service: string | undefined, allScopes: string[]) {
    const { credentials } = this.options;
    if (credentials.kind === 'refresh-token') {
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: credentials.refreshToken });
      if (service) form.set('service', service);
      form.set('scope', allScopes.join(' '));
      return this.http.post(realm, form.toString(), {
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        // A redirect would carry the refresh token in the body (307) or the Basic header to wherever it points.
        maxRedirects: 0,
        validateStatus: () => true,
      });
    }
    const params = new URLSearchParams();
    if (service) params.set('service', service);
    for (const scope of allScopes) params.append('scope', scope);
    const authorization = this.basicHeader();
    return this.http.get(`${realm}${realm.includes('?') ? '&' : '?'}${params.toString()}`, {
      headers: authorization ? { Authorization: authorization } : {},
      maxRedirects: 0,
      validateStatus: () => true,
    });
  }

  private async fetchToken(scopes: string[]): Promise<string> {
    const { realm, service } = this.challenge?.params ?? {};
    const { registry } = this.options;
    if (!realm) throw new Error(`registry ${registry} asked for a Bearer token but named no realm to get it from`);
    // The realm gets the credentials (Basic header or refresh token): never in clear over a network.
    if (!isCredentialSafeRealm(realm)) {
      throw new Error(
        `registry ${registry} names the token service ${realm}, which is not https (plain http is allowed only on ` +
          'localhost and 127.0.0.1): refusing to use it, credentials and tokens would travel in clear',
      );
    }
    // Our scopes say what this request needs; the challenge's scope only when we know none.
    const allScopes = scopes.length > 0 ? scopes : (this.challenge?.params.scope?.split(' ') ?? []);
    const response = await secretSafe(
      this.tokenRequest(realm, service, allScopes),
      (message) => `registry ${registry}: token service ${realm} is unreachable: ${message}`,
    );
    if (response.status === 401 || response.status === 403) {
      throw new Error(
        `registry ${registry} refused the credentials (HTTP ${response.status} from its token service ${realm}): ` +
          'check the registry username and password or token, and that it may push to the repository',
      );
    }
    const body = response.data as { token?: string; access_token?: string } | undefined;
    const token = body?.token ?? body?.access_token;
    if (response.status >= 300 && response.status < 400) {
      throw new Error(
        `registry ${registry}: token service ${realm} answered HTTP ${response.status} (a redirect): ` +
          'model-canary does not follow redirects with registry credentials',
      );
    }
    if (response.status >= 300 || !token) {
      throw new Error(`registry ${registry}: token service ${realm} answered HTTP ${response.status} without a token`);
    }
    this.options.mask?.(token);
    return token;
  }
}

/** A token realm may receive credentials when it is https, or plain http on loopback (as the registry itself). */
function isCredentialSafeRealm(realm: string): boolean {
  let url: URL;
  try {
    url = new URL(realm);
  } catch {
    return false;
  }
  return url.protocol === 'https:' || (url.protocol === 'http:' && isPlainHttpRegistry(url.host));
}

/** The user name ACR expects beside a refresh token (docker login does the same). */
export const ACR_REFRESH_TOKEN_USER = '00000000-0000-0000-0000-000000000000';

/**
 * Awaits an HTTP call and turns a failure into an error with `describe(message)` only: no `cause`, because
 * the underlying error carries the request (Authorization headers, tokens in form bodies).
 */
export async function secretSafe<T>(call: Promise<T>, describe: (message: string) => string): Promise<T> {
  const outcome = await call.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, message: (error as Error).message }),
  );
  if (!outcome.ok) throw new Error(describe(outcome.message));
  return outcome.value;
}
