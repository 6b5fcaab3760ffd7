// The cloud endpoints a shipped workflow names (an ACR at <name>.azurecr.io, Azure Resource Manager, Blob Storage),
// served on 127.0.0.1 by the local fakes and real servers behind one HTTPS front. The action's process is started with
// `env` below: a preload sends TLS connections for those host names to the front (like an /etc/hosts entry) and Node
// trusts the front's self-signed certificate (NODE_EXTRA_CA_CERTS), so the action runs its real HTTPS code paths
// against the names as written in the workflow.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, request as httpRequest } from 'node:http';
import { createServer, type Server } from 'node:https';
import { connect, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LOOPBACK, requireBinary, tempDir } from './local.js';

export interface CloudRoute {
  /** A host name, or `*.suffix` for every host under it. */
  host: string;
  /** The local http URL a request for this host and path goes to. */
  to(host: string, path: string): string;
}

export interface CloudFront {
  /** Environment for the action's process: the host redirect and the trusted certificate. */
  env: Record<string, string>;
  /** Requests as seen by the front: `host path`, so tests can check what the action asked of whom. */
  requests: string[];
  /**
   * An HTTP CONNECT proxy that tunnels the same host names to the front, for clients that take HTTPS_PROXY rather
   * than a preload (dockerd pushing an image).
   */
  proxyUrl: string;
  stop(): Promise<void>;
}

const PRELOAD = fileURLToPath(new URL('./cloud-hosts-preload.mjs', import.meta.url));

const matches = (pattern: string, host: string): boolean =>
  pattern.startsWith('*.') ? host.endsWith(pattern.slice(1)) : host === pattern;

export async function startCloudFront(routes: CloudRoute[]): Promise<CloudFront> {
  requireBinary('openssl');
  const dir = tempDir('cloud-front');
  const key = join(dir.path, 'front.key');
  const cert = join(dir.path, 'front.crt');
  const names = routes.map((route) => `DNS:${route.host}`).join(',');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key,
    '-out', cert, '-subj', '/CN=model-canary-test-cloud', '-days', '2', '-addext', `subjectAltName=${names}`,
  ], { stdio: 'ignore' }); // prettier-ignore
  const requests: string[] = [];
  const server: Server = createServer({ key: readFileSync(key), cert: readFileSync(cert) }, (req, res) => {
    const host = (req.headers.host ?? '').replace(/:\d+$/, '');
    const route = routes.find((candidate) => matches(candidate.host, host));
    requests.push(`${host} ${req.method} ${req.url}`);
    if (!route) {
      res.writeHead(502).end(`no local server for ${host}`);
      return;
    }
    const target = new URL(route.to(host, req.url ?? '/'));
    const upstream = httpRequest(
      target,
      { method: req.method, headers: { ...req.headers, 'x-forwarded-proto': 'https' } },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', (error) => res.writeHead(502).end(String(error)));
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, LOOPBACK, resolve));
  const { port } = server.address() as AddressInfo;
  const proxy = createHttpServer((_, res) => res.writeHead(405).end('CONNECT only'));
  proxy.on('connect', (req, client, head) => {
    const host = (req.url ?? '').replace(/:\d+$/, '');
    if (!routes.some((route) => matches(route.host, host))) {
      client.end('HTTP/1.1 502 Bad Gateway\r\n\r\n');
      return;
    }
    const upstream = connect(port, LOOPBACK, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => proxy.listen(0, LOOPBACK, resolve));
  return {
    env: {
      NODE_OPTIONS: `--import=${PRELOAD}`,
      NODE_EXTRA_CA_CERTS: cert,
      MODEL_CANARY_TEST_CLOUD_PORT: String(port),
      MODEL_CANARY_TEST_CLOUD_HOSTS: routes.map((route) => route.host).join(','),
    },
    requests,
    proxyUrl: `http://${LOOPBACK}:${(proxy.address() as AddressInfo).port}`,
    stop: async () => {
      proxy.closeAllConnections();
      proxy.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      dir.remove();
    },
  };
}
