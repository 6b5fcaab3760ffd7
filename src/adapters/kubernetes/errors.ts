// What went wrong in an API call, in words that name the object and say what to do.
import { ApiException } from '@kubernetes/client-node';
import type { ObjectKey } from '../../core/ports.js';

export type Failure = 'transient' | 'conflict' | 'field-conflict' | 'not-found' | 'fatal';

const TRANSIENT_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'UND_ERR_SOCKET']);

interface StatusBody {
  message?: string;
  reason?: string;
  details?: { causes?: { reason?: string; field?: string; message?: string }[] };
}

function body(error: ApiException<unknown>): StatusBody {
  const raw = error.body;
  if (raw && typeof raw === 'object') return raw as StatusBody;
  if (typeof raw === 'string') {
    try {
      return JSON.parse(raw) as StatusBody;
    } catch {
      return { message: raw };
    }
  }
  return {};
}

export function classify(error: unknown): Failure {
  if (error instanceof ApiException) {
    const code = error.code;
    if (code === 429 || code >= 500) return 'transient';
    if (code === 404) return 'not-found';
    if (code === 409) {
      const causes = body(error).details?.causes ?? [];
      return causes.some((c) => c.reason === 'FieldManagerConflict') ? 'field-conflict' : 'conflict';
    }
    return 'fatal';
  }
  const code =
    (error as { code?: string; cause?: { code?: string } } | undefined)?.code ??
    (error as { cause?: { code?: string } })?.cause?.code;
  if (code && TRANSIENT_CODES.has(code)) return 'transient';
  const message = String((error as Error)?.message ?? error);
  return /socket hang up|ECONNRESET|network|fetch failed|premature close/i.test(message) ? 'transient' : 'fatal';
}

const HINTS: Record<number, string> = {
  401: 'the kubeconfig credentials were refused: refresh them (e.g. azure/aks-set-context) and re-run',
  403: "give the workflow's identity RBAC for this verb on this resource in the namespace",
  404: 'check the name and namespace, and that the CRD for this kind is installed (or pick another router)',
  409: 'another writer changed it; re-run, or remove the other field manager',
  422: 'the object is invalid: fix the manifest field the server names',
};

export const describeKey = (key: ObjectKey): string =>
  `${key.kind} ${key.namespace ? `${key.namespace}/` : ''}${key.name}`;

/** An Error naming the verb, the object and the server's message, with a hint; never the request's credentials. */
export function explain(verb: string, key: ObjectKey, error: unknown): Error {
  if (error instanceof ApiException) {
    const status = body(error);
    const fields = (status.details?.causes ?? []).map((c) => c.field).filter(Boolean);
    const hint =
      classify(error) === 'field-conflict'
        ? `another field manager owns ${fields.join(', ')}: model-canary only forces fields it owns`
        : (HINTS[error.code] ?? 'look at the API server message');
    return new Error(
      `${verb} ${describeKey(key)} failed: HTTP ${error.code} ${status.reason ?? ''}: ${status.message ?? error.message}; ${hint}`.replace(
        / +:/,
        ':',
      ),
    );
  }
  const message = (error as Error)?.message ?? String(error);
  return new Error(
    `${verb} ${describeKey(key)} failed: ${message}; check that the API server in the kubeconfig is reachable`,
  );
}
