// A real `docker-registry serve` on 127.0.0.1 for tests: anonymous, htpasswd basic auth, or token auth with a
// small RS256 token server (and ACR's /oauth2/exchange as the one fake), plus a fault-injecting HTTP proxy.
import { execFileSync } from 'node:child_process';
import { createHash, createPrivateKey, createPublicKey, randomUUID, sign, type KeyObject } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { join } from 'node:path';
import { freePort, LOOPBACK, requireBinary, startProcess, tempDir, waitForHttp, type RunningProcess } from './local.js';

export interface TestRegistry {
  /** `127.0.0.1:PORT`, as in image references. */
  host: string;
  url: string;
  storage: string;
  tokenServer?: TokenServer;
  stop(): Promise<void>;
}

export interface RegistryOptions {
  auth?: 'none' | 'htpasswd' | 'token';
  /** Users for htpasswd or the token server. */
  users?: Record<string, string>;
  /** The Azure AD token the fake ACR exchange accepts (default: a random one, in `tokenServer.aadToken`). */
  aadToken?: string;
}

export async function startRegistry(options: RegistryOptions = {}): Promise<TestRegistry> {
  requireBinary('docker-registry');
  const dir = tempDir('registry');
  const port = await freePort();
  const auth = options.auth ?? 'none';
  const users = options.users ?? { tester: 'secret' };
  let authConfig = '';
  let tokenServer: TokenServer | undefined;
  if (auth === 'htpasswd') {
    requireBinary('htpasswd');
    const file = join(dir.path, 'htpasswd');
    Object.entries(users).forEach(([user, password], index) =>
      execFileSync('htpasswd', [index === 0 ? '-Bbc' : '-Bb', file, user, password], { stdio: 'ignore' }),
    );
    authConfig = `auth:\n  htpasswd:\n    realm: test-realm\n    path: ${file}\n`;
  } else if (auth === 'token') {
    tokenServer = await startTokenServer(dir.path, users, options.aadToken);
    authConfig =
      `auth:\n  token:\n    realm: ${tokenServer.url}/oauth2/token\n    service: ${TOKEN_SERVICE}\n` +
      `    issuer: ${TOKEN_ISSUER}\n    rootcertbundle: ${tokenServer.certFile}\n`;
  }
  const config = join(dir.path, 'config.yml');
  writeFileSync(
    config,
    `version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\n` +
      `storage:\n  filesystem:\n    rootdirectory: ${join(dir.path, 'data')}\n  delete:\n    enabled: true\n` +
      `http:\n  addr: ${LOOPBACK}:${port}\n${authConfig}`,
  );
  const server: RunningProcess = startProcess('docker-registry', ['serve', config]);
  const url = `http://${LOOPBACK}:${port}`;
  try {
    await waitForHttp(`${url}/v2/`);
  } catch (error) {
    await server.stop();
    throw new Error(`${(error as Error).message}\n${server.output()}`, { cause: error });
  }
  return {
    host: `${LOOPBACK}:${port}`,
    url,
    storage: join(dir.path, 'data'),
    tokenServer,
    stop: async () => {
      await server.stop();
      await tokenServer?.stop();
      dir.remove();
    },
  };
}

// ---- token server ------------------------------------------------------------------------------

export const TOKEN_SERVICE = 'test-registry';
const ACR_REFRESH_TOKEN_USER = '00000000-0000-0000-0000-000000000000';
const TOKEN_ISSUER = 'model-canary-test-issuer';

export interface TokenServer {
  url: string;
  certFile: string;
  /** The AAD access token the fake ACR exchange accepts. */
  aadToken: string;
  /** Scopes asked for, in order, so tests can see what the client requested. */
  requests: string[];
  stop(): Promise<void>;
}

/** libtrust's key id (the registry matches a JWT's `kid` with it): base32 of 240 bits of sha256(SPKI DER). */
function libtrustKeyId(publicKey: KeyObject): string {
  const hash = createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest()
    .subarray(0, 30);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const byte of hash) bits += byte.toString(2).padStart(8, '0');
  let text = '';
  for (let i = 0; i < bits.length; i += 5) text += alphabet[parseInt(bits.slice(i, i + 5), 2)];
  return text.match(/.{4}/g)!.join(':');
}

const base64url = (data: Buffer | string): string => Buffer.from(data).toString('base64url');

async function startTokenServer(
  dir: string,
  users: Record<string, string>,
  aadToken = `aad-${randomUUID()}`,
): Promise<TokenServer> {
  requireBinary('openssl'); // node:crypto signs JWTs but cannot make the X.509 certificate the registry trusts
  const keyFile = join(dir, 'token.key');
  const certFile = join(dir, 'token.crt');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile,
    '-subj', '/CN=model-canary-test-token', '-days', '2',
  ], { stdio: 'ignore' }); // prettier-ignore
  const privateKey = createPrivateKey(readFileSync(keyFile));
  const kid = libtrustKeyId(createPublicKey(privateKey));
  const refreshTokens = new Set<string>();
  const requests: string[] = [];

  const issue = (subject: string, scopes: string[]): string => {
    const now = Math.floor(Date.now() / 1000);
    const access = scopes
      .map((scope) => scope.split(':'))
      .filter((parts) => parts.length >= 3)
      .map(([type, ...rest]) => ({
        type,
        name: rest.slice(0, -1).join(':'),
        actions: rest[rest.length - 1]!.split(','),
      }));
    const header = base64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid }));
    const claims = { iss: TOKEN_ISSUER, sub: subject, aud: TOKEN_SERVICE, iat: now, nbf: now - 5, exp: now + 300,
      jti: randomUUID(), access }; // prettier-ignore
    const payload = base64url(JSON.stringify(claims));
    const signature = sign('RSA-SHA256', Buffer.from(`${header}.${payload}`), privateKey);
    return `${header}.${payload}.${base64url(signature)}`;
  };

  const server = createServer((req, res) => {
    void handle(req, res).catch((error: Error) => send(res, 500, { error: error.message }));
  });
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://token');
    const form = req.method === 'POST' ? new URLSearchParams(await readBody(req)) : url.searchParams;
    if (url.pathname === '/oauth2/exchange') {
      // The fake part: ACR trades an Azure AD access token for a refresh token.
      if (form.get('grant_type') !== 'access_token' || form.get('access_token') !== aadToken) {
        return send(res, 401, { error: 'invalid AAD token' });
      }
      const refreshToken = `refresh-${randomUUID()}`;
      refreshTokens.add(refreshToken);
      return send(res, 200, { refresh_token: refreshToken });
    }
    if (url.pathname !== '/oauth2/token') return send(res, 404, {});
    const scopes = form.getAll('scope').flatMap((scope) => scope.split(' '));
    requests.push(scopes.join(' '));
    if (req.method === 'POST') {
      const token = form.get('refresh_token') ?? '';
      if (form.get('grant_type') !== 'refresh_token' || !refreshTokens.has(token)) {
        return send(res, 401, { error: 'invalid refresh token' });
      }
      return send(res, 200, { access_token: issue('acr-user', scopes) });
    }
    const [user, password] = Buffer.from((req.headers.authorization ?? '').replace(/^Basic /, ''), 'base64')
      .toString()
      .split(':');
    // ACR also takes its refresh token as the password of the all-zero user (what `docker login` sends).
    const acrUser = user === ACR_REFRESH_TOKEN_USER && refreshTokens.has(password ?? '');
    if (!user || (users[user] !== password && !acrUser)) return send(res, 401, { error: 'bad credentials' });
    return send(res, 200, { token: issue(user, scopes) });
  };
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, LOOPBACK, resolve));
  return { url: `http://${LOOPBACK}:${port}`, certFile, aadToken, requests, stop: () => closeServer(server) };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

// ---- fault proxy -------------------------------------------------------------------------------

export interface Faults {
  /** Answer 503 to this many requests (those matching `unavailableFor`, default all). */
  unavailable: number;
  unavailableFor?: (method: string, path: string) => boolean;
  /** Cut the connection once after this many request-body bytes of uploads (PATCH/PUT) went through. */
  dropAfterUploadBytes?: number;
  /** Answer manifest PUTs with a wrong Docker-Content-Digest. */
  forgeManifestDigest: boolean;
}

export interface FaultProxy {
  url: string;
  faults: Faults;
  /** Request-body bytes forwarded to the registry, and requests seen, for assertions. */
  stats: { uploadBytes: number; requests: string[]; dropped: number; unavailable: number };
  stop(): Promise<void>;
}

/** An HTTP proxy in front of the registry that keeps the Host header (so upload Locations point at it). */
export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const targetUrl = new URL(target);
  const faults: Faults = { unavailable: 0, forgeManifestDigest: false };
  const stats = { uploadBytes: 0, requests: [] as string[], dropped: 0, unavailable: 0 };
  const server = createServer((req, res) => {
    const method = req.method ?? 'GET';
    const path = (req.url ?? '/').split('?')[0]!;
    stats.requests.push(`${method} ${path}`);
    if (faults.unavailable > 0 && (faults.unavailableFor?.(method, path) ?? true)) {
      faults.unavailable--;
      stats.unavailable++;
      req.resume();
      res.writeHead(503, { 'Content-Type': 'application/json', 'Retry-After': '0' });
      res.end(JSON.stringify({ errors: [{ code: 'UNAVAILABLE', message: 'injected by the test proxy' }] }));
      return;
    }
    const upstream = httpRequest(
      { host: targetUrl.hostname, port: targetUrl.port, method, path: req.url, headers: req.headers },
      (answer) => {
        const headers = { ...answer.headers };
        if (faults.forgeManifestDigest && method === 'PUT' && path.includes('/manifests/')) {
          headers['docker-content-digest'] = `sha256:${'0'.repeat(64)}`;
        }
        res.writeHead(answer.statusCode ?? 502, headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    const upload = method === 'PATCH' || method === 'PUT';
    req.on('data', (chunk: Buffer) => {
      const limit = faults.dropAfterUploadBytes;
      if (upload && limit !== undefined && stats.uploadBytes + chunk.length > limit) {
        const keep = limit - stats.uploadBytes;
        upstream.write(chunk.subarray(0, keep));
        stats.uploadBytes += keep;
        faults.dropAfterUploadBytes = undefined;
        stats.dropped++;
        upstream.destroy();
        req.socket.destroy();
        return;
      }
      if (upload) stats.uploadBytes += chunk.length;
      upstream.write(chunk);
    });
    req.on('end', () => upstream.end());
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, LOOPBACK, resolve));
  return { url: `http://${LOOPBACK}:${port}`, faults, stats, stop: () => closeServer(server) };
}
