// A local HTTP server speaking the parts of the GitHub REST API model-canary uses: issue comments (list with
// Link-header pagination, create, update), commits/{sha}/pulls, deployments and their statuses. It records every
// request, and can answer 403 "Resource not accessible by integration" for comments, as a token without
// `pull-requests: write` gets.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LOOPBACK } from './local.js';

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  authorization: string | undefined;
  body: unknown;
}

export interface FakeComment {
  id: number;
  body: string;
  issue: number;
}

export interface FakePull {
  number: number;
  state: 'open' | 'closed';
  headSha: string;
}

export interface FakeGitHub {
  url: string;
  requests: RecordedRequest[];
  comments: FakeComment[];
  /** Pull requests by commit sha, for `GET /repos/{o}/{r}/commits/{sha}/pulls`. */
  pullsByCommit: Map<string, FakePull[]>;
  deployments: Array<{ id: number; body: Record<string, unknown>; statuses: Array<Record<string, unknown>> }>;
  /** Answer 403 to every comment request (list, create, update). */
  forbidComments: boolean;
  forbidDeployments: boolean;
  close(): Promise<void>;
}

const FORBIDDEN = {
  message: 'Resource not accessible by integration',
  documentation_url: 'https://docs.github.com/rest/issues/comments#create-an-issue-comment',
  status: '403',
};

function readBody(request: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('error', reject);
    request.on('end', () => {
      const text = Buffer.concat(chunks).toString();
      try {
        resolve(text ? JSON.parse(text) : undefined);
      } catch {
        resolve(text);
      }
    });
  });
}

function send(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  response.end(JSON.stringify(body));
}

function commentJson(fake: FakeGitHub, comment: FakeComment): Record<string, unknown> {
  return {
    id: comment.id,
    node_id: `IC_${comment.id}`,
    url: `${fake.url}/repos/o/r/issues/comments/${comment.id}`,
    html_url: `https://github.com/o/r/pull/${comment.issue}#issuecomment-${comment.id}`,
    body: comment.body,
    user: { login: 'github-actions[bot]', id: 41898282, type: 'Bot' },
    created_at: '2026-12-01T00:00:00Z',
    updated_at: '2026-12-01T00:00:00Z',
  };
}

function pullJson(pull: FakePull): Record<string, unknown> {
  return {
    number: pull.number,
    state: pull.state,
    title: `PR ${pull.number}`,
    head: { sha: pull.headSha, ref: `branch-${pull.number}` },
    base: { ref: 'main' },
  };
}

export async function startFakeGitHub(): Promise<FakeGitHub> {
  let nextId = 1000;
  const fake: FakeGitHub = {
    url: '',
    requests: [],
    comments: [],
    pullsByCommit: new Map(),
    deployments: [],
    forbidComments: false,
    forbidDeployments: false,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };

  const route = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const url = new URL(request.url ?? '/', 'http://fake');
    const body = await readBody(request);
    const method = request.method ?? 'GET';
    fake.requests.push({
      method,
      path: url.pathname,
      query: url.searchParams,
      authorization: request.headers.authorization,
      body,
    });
    const input = (body ?? {}) as Record<string, unknown>;
    let match: RegExpMatchArray | null;

    if ((match = url.pathname.match(/^\/repos\/[^/]+\/[^/]+\/issues\/(\d+)\/comments$/))) {
      if (fake.forbidComments) return send(response, 403, FORBIDDEN);
      const issue = Number(match[1]);
      if (method === 'GET') {
        const perPage = Number(url.searchParams.get('per_page') ?? 30);
        const page = Number(url.searchParams.get('page') ?? 1);
        const all = fake.comments.filter((comment) => comment.issue === issue);
        const last = Math.max(1, Math.ceil(all.length / perPage));
        const pageLink = (n: number, rel: string): string => {
          const next = new URL(url.pathname, fake.url);
          next.searchParams.set('per_page', String(perPage));
          next.searchParams.set('page', String(n));
          return `<${next.toString()}>; rel="${rel}"`;
        };
        const links = page < last ? [pageLink(page + 1, 'next'), pageLink(last, 'last')] : [];
        const data = all.slice((page - 1) * perPage, page * perPage).map((comment) => commentJson(fake, comment));
        return send(response, 200, data, links.length ? { link: links.join(', ') } : {});
      }
      if (method === 'POST') {
        const comment = { id: nextId++, body: String(input.body), issue };
        fake.comments.push(comment);
        return send(response, 201, commentJson(fake, comment));
      }
    }
    if ((match = url.pathname.match(/^\/repos\/[^/]+\/[^/]+\/issues\/comments\/(\d+)$/)) && method === 'PATCH') {
      if (fake.forbidComments) return send(response, 403, FORBIDDEN);
      const comment = fake.comments.find((c) => c.id === Number(match?.[1]));
      if (!comment) return send(response, 404, { message: 'Not Found' });
      comment.body = String(input.body);
      return send(response, 200, commentJson(fake, comment));
    }
    if ((match = url.pathname.match(/^\/repos\/[^/]+\/[^/]+\/commits\/([^/]+)\/pulls$/)) && method === 'GET') {
      return send(response, 200, (fake.pullsByCommit.get(match[1] ?? '') ?? []).map(pullJson));
    }
    if (url.pathname.match(/^\/repos\/[^/]+\/[^/]+\/deployments$/) && method === 'POST') {
      if (fake.forbidDeployments) return send(response, 403, FORBIDDEN);
      const deployment = { id: nextId++, body: input, statuses: [] };
      fake.deployments.push(deployment);
      return send(response, 201, { id: deployment.id, ...input });
    }
    if ((match = url.pathname.match(/^\/repos\/[^/]+\/[^/]+\/deployments\/(\d+)\/statuses$/)) && method === 'POST') {
      if (fake.forbidDeployments) return send(response, 403, FORBIDDEN);
      const deployment = fake.deployments.find((d) => d.id === Number(match?.[1]));
      if (!deployment) return send(response, 404, { message: 'Not Found' });
      deployment.statuses.push(input);
      return send(response, 201, { id: nextId++, ...input });
    }
    send(response, 404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' });
  };

  const server: Server = createServer((request, response) => {
    route(request, response).catch((error: unknown) => send(response, 500, { message: String(error) }));
  });
  await new Promise<void>((resolve) => server.listen(0, LOOPBACK, resolve));
  fake.url = `http://${LOOPBACK}:${(server.address() as AddressInfo).port}`;
  return fake;
}
