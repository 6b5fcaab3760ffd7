// A local HTTP server speaking the parts of the GitHub REST API model-canary uses: issue comments (list with
// Link-header pagination, create, update), GET /user, commits/{sha}/pulls, deployments and their statuses. It records
// every request, and can answer 403 "Resource not accessible by integration" for comments, as a token without
// `pull-requests: write` gets.
//
// Who a request comes from, as on GitHub: a token listed in `users` is a personal access token of that user (GET
// /user answers the user); any other token is the GITHUB_TOKEN of Actions, which comments as `github-actions[bot]`
// and gets 403 "Resource not accessible by integration" from GET /user. Each comment records its author, and the
// list answers it as `user`, so a test can seed comments by anyone.
//
// Simplifications: one repository (owner and repo in paths are not checked); any token may edit any comment (on
// GitHub, as here for the GITHUB_TOKEN with `pull-requests: write`, a writer may edit others' comments); `user` and
// the authenticated user carry only login, id, node_id, type and site_admin; timestamps are fixed.
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

export interface FakeUser {
  login: string;
  id: number;
  /** `User` or `Bot`, as in GitHub's simple-user. */
  type: 'User' | 'Bot';
}

/** The author of everything the GITHUB_TOKEN of Actions writes. */
export const ACTIONS_BOT_USER: FakeUser = { login: 'github-actions[bot]', id: 41898282, type: 'Bot' };

export interface FakeComment {
  id: number;
  body: string;
  issue: number;
  user: FakeUser;
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
  /** Personal access tokens and their users; any other token acts as the GITHUB_TOKEN (`ACTIONS_BOT_USER`). */
  users: Map<string, FakeUser>;
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

/** What GitHub answers GET /user with an installation token such as the GITHUB_TOKEN of Actions. */
const NOT_A_USER = {
  message: 'Resource not accessible by integration',
  documentation_url: 'https://docs.github.com/rest/users/users#get-the-authenticated-user',
  status: '403',
};

function userJson(user: FakeUser): Record<string, unknown> {
  return { login: user.login, id: user.id, node_id: `U_${user.id}`, type: user.type, site_admin: false };
}

/** The token of an `Authorization: token X` or `Bearer X` header. */
function tokenOf(authorization: string | undefined): string {
  return authorization?.replace(/^(token|bearer)\s+/i, '') ?? '';
}

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
    user: userJson(comment.user),
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
    users: new Map(),
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
    const pat = fake.users.get(tokenOf(request.headers.authorization));
    let match: RegExpMatchArray | null;

    if (url.pathname === '/user' && method === 'GET') {
      return pat ? send(response, 200, userJson(pat)) : send(response, 403, NOT_A_USER);
    }

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
        const comment = { id: nextId++, body: String(input.body), issue, user: pat ?? ACTIONS_BOT_USER };
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
