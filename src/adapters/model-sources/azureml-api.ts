// JSON calls to Azure Resource Manager and the Azure ML registry endpoints with the Azure AD token of azure/login:
// one token per audience, every token masked, ARM error bodies (`{"error":{"code","message"}}`) turned into errors
// that name the model and say what to do. Tokens never reach a message (secretSafe drops the request).
import type { AxiosInstance } from 'axios';
import { ModelSourceError } from '../../core/model-source.js';
import { secretSafe } from '../registry/auth.js';
import { isRetryableStatus } from '../registry/retry.js';

/** secretSafe (no request, so no token, in the error), as a ModelSourceError. */
export function sourceSafe<T>(call: Promise<T>, describe: (message: string) => string): Promise<T> {
  return secretSafe(call, describe).catch((error: Error) => {
    throw new ModelSourceError(error.message);
  });
}

export type TokenProvider = (resource: string) => Promise<string>;

/** Caches one token per audience for the length of one resolve, and masks each as it arrives. */
export class AzureTokens {
  private readonly cache = new Map<string, Promise<string>>();

  constructor(
    private readonly getToken: TokenProvider,
    private readonly mask: ((secret: string) => void) | undefined,
    private readonly source: string,
  ) {}

  get(resource: string): Promise<string> {
    let token = this.cache.get(resource);
    if (!token) {
      token = this.fetch(resource);
      this.cache.set(resource, token);
    }
    return token;
  }

  private async fetch(resource: string): Promise<string> {
    let token: string;
    try {
      token = (await this.getToken(resource)).trim();
    } catch (error) {
      throw new ModelSourceError(
        `${this.source}: no Azure AD token for ${resource} (${(error as Error).message.split('\n')[0]}): ` +
          'run azure/login before this step',
      );
    }
    if (!token) throw new ModelSourceError(`${this.source}: the Azure AD token for ${resource} is empty`);
    this.mask?.(token);
    return token;
  }
}

/** What a call is about, so its errors can say it. */
export interface CallContext {
  /** e.g. "Azure ML workspace ws (resource group rg)". */
  scope: string;
  /** The thing asked for, e.g. "model churn version 7". */
  subject: string;
  /** The role that grants the call, for the 403 message. */
  role: string;
}

interface ArmErrorBody {
  error?: { code?: string; message?: string; innerError?: { code?: string } };
}

export function armErrorCode(body: unknown): string {
  const error = (body as ArmErrorBody | undefined)?.error;
  return [error?.code, error?.innerError?.code].filter(Boolean).join('/') || 'no error code';
}

/** The first line of an ARM error message, cut short: it names the missing thing or the refused action. */
function armErrorMessage(body: unknown): string {
  const message = (body as ArmErrorBody | undefined)?.error?.message;
  return message ? `: ${message.split('\n')[0]!.slice(0, 300)}` : '';
}

export class AzureJsonClient {
  /** `resource`: the Azure AD audience of every call, Azure Resource Manager's (the registry endpoints take it too). */
  constructor(
    private readonly http: AxiosInstance,
    private readonly tokens: AzureTokens,
    private readonly source: string,
    private readonly resource: string,
  ) {}

  async call<T>(method: 'GET' | 'POST', url: string, context: CallContext, body?: unknown): Promise<T> {
    const token = await this.tokens.get(this.resource);
    const response = await sourceSafe(
      this.http.request({
        method,
        url,
        data: body,
        headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' },
        // Busy or throttled answers throw, so the instance's retries see them.
        validateStatus: (status) => !isRetryableStatus(status),
      }),
      (message) =>
        `${this.source}: ${context.scope} did not answer reading ${context.subject} (${hostOf(url)}): ${message}`,
    );
    if (response.status >= 200 && response.status < 300) return response.data as T;
    const code = armErrorCode(response.data);
    if (response.status === 404) {
      throw new ModelSourceError(`${this.source}: ${context.scope} has no ${context.subject} (HTTP 404 ${code})`);
    }
    if (response.status === 401 || response.status === 403) {
      throw new ModelSourceError(
        `${this.source}: ${context.scope} refused the Azure AD token reading ${context.subject} (HTTP ${response.status} ${code}): ` +
          `run azure/login before this step with an identity that has ${context.role}`,
      );
    }
    throw new ModelSourceError(
      `${this.source}: reading ${context.subject} from ${context.scope} failed with HTTP ${response.status} ${code}` +
        armErrorMessage(response.data),
    );
  }
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'bad URL';
  }
}
