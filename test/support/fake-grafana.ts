// A local HTTP server answering Grafana's `POST /api/annotations` as Grafana does; records what it got, and can fail
// the next N requests (503) or refuse every one (401) to test retries and warnings.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LOOPBACK } from './local.js';

export interface FakeGrafana {
  url: string;
  annotations: Array<Record<string, unknown>>;
  authorizations: string[];
  /** Answer 503 to this many requests before succeeding again. */
  failNext: number;
  /** Answer 401 to every request, as Grafana does for a bad token. */
  refuse: boolean;
  requests: number;
  close(): Promise<void>;
}

export async function startFakeGrafana(): Promise<FakeGrafana> {
  let nextId = 1;
  const fake: FakeGrafana = {
    url: '',
    annotations: [],
    authorizations: [],
    failNext: 0,
    refuse: false,
    requests: 0,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      fake.requests++;
      fake.authorizations.push(request.headers.authorization ?? '');
      const reply = (status: number, body: unknown): void => {
        response.writeHead(status, { 'content-type': 'application/json' });
        response.end(JSON.stringify(body));
      };
      if (request.method !== 'POST' || request.url !== '/api/annotations') return reply(404, { message: 'Not found' });
      if (fake.refuse) return reply(401, { message: 'invalid API key' });
      if (fake.failNext > 0) {
        fake.failNext--;
        return reply(503, { message: 'Service unavailable' });
      }
      const annotation = JSON.parse(Buffer.concat(chunks).toString()) as Record<string, unknown>;
      if (typeof annotation.time !== 'number' || typeof annotation.text !== 'string') {
        return reply(400, { message: 'bad annotation' });
      }
      const id = nextId++;
      fake.annotations.push({ id, ...annotation });
      reply(200, { message: 'Annotation added', id });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, LOOPBACK, resolve));
  fake.url = `http://${LOOPBACK}:${(server.address() as AddressInfo).port}`;
  return fake;
}
