// Registry credentials from what the user configured: `basic` (service principal or admin user),
// `azure` (an Azure AD token exchanged for an ACR refresh token) or `docker-config` (a docker config.json).
import axios, { type AxiosInstance } from 'axios';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { registryBaseUrl } from '../../core/image-ref.js';
import { ACR_REFRESH_TOKEN_USER, secretSafe, type RegistryCredentials } from './auth.js';

export type RegistryAuthMode = 'azure' | 'basic' | 'docker-config';

/** Runs a command and returns its stdout; the action passes @actions/exec, tests a real process. */
export type CommandRunner = (command: string, args: string[], input?: string) => Promise<string>;

export interface CredentialOptions {
  registry: string;
  mode?: RegistryAuthMode;
  username?: string;
  password?: string;
  /** An Azure AD access token (else `az account get-access-token` is asked, as after azure/login). */
  token?: string;
  tenant?: string;
  /** Where the docker config lives (default $DOCKER_CONFIG or ~/.docker). */
  dockerConfigDir?: string;
  run?: CommandRunner;
  mask?: (secret: string) => void;
  /** Base URL of the registry's /oauth2 endpoints (default the registry itself). */
  oauthBaseUrl?: string;
  http?: AxiosInstance;
}

export async function registryCredentials(options: CredentialOptions): Promise<RegistryCredentials> {
  switch (options.mode) {
    case undefined:
      return { kind: 'anonymous' };
    case 'basic':
      if (!options.username || !options.password) {
        throw new Error(
          `registry-auth basic for ${options.registry} needs registry-username and registry-password (or a token)`,
        );
      }
      options.mask?.(options.password);
      return { kind: 'basic', username: options.username, password: options.password };
    case 'azure':
      return { kind: 'refresh-token', refreshToken: await acrRefreshToken(options) };
    case 'docker-config':
      return dockerConfigCredentials(options);
  }
}

export const ARM_RESOURCE = 'https://management.azure.com/';

/**
 * Azure CLI's token (as after azure/login) for `resource`: by default Azure Resource Manager, the audience ACR's
 * /oauth2/exchange accepts. `purpose` names the input the token is for in errors.
 */
export async function azureCliAccessToken(
  run: CommandRunner,
  tenant?: string,
  resource: string = ARM_RESOURCE,
  purpose = 'registry-auth azure',
): Promise<string> {
  const args = ['account', 'get-access-token', '--resource', resource, '--output', 'json'];
  if (tenant) args.push('--tenant', tenant);
  let output: string;
  try {
    output = await run('az', args);
  } catch (error) {
    throw new Error(
      `${purpose}: 'az account get-access-token --resource ${resource}' failed (${(error as Error).message.split('\n')[0]}): ` +
        'run azure/login before this step, or pass an Azure AD token',
      { cause: error },
    );
  }
  const token = (JSON.parse(output) as { accessToken?: string }).accessToken;
  if (!token) throw new Error(`${purpose}: 'az account get-access-token' returned no accessToken`);
  return token;
}

/** Azure AD access token -> ACR refresh token, at https://<registry>/oauth2/exchange. */
export async function acrRefreshToken(options: CredentialOptions): Promise<string> {
  let aadToken = options.token;
  if (!aadToken) {
    if (!options.run)
      throw new Error(`registry-auth azure for ${options.registry} needs an Azure AD token or the az CLI`);
    aadToken = await azureCliAccessToken(options.run, options.tenant);
  }
  options.mask?.(aadToken);
  const http = options.http ?? axios.create({ timeout: 30000 });
  const url = `${(options.oauthBaseUrl ?? registryBaseUrl(options.registry)).replace(/\/$/, '')}/oauth2/exchange`;
  const form = new URLSearchParams({ grant_type: 'access_token', service: options.registry, access_token: aadToken });
  if (options.tenant) form.set('tenant', options.tenant);
  const response = await secretSafe(
    http.post(url, form.toString(), {
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      // A 307 would re-send the Azure AD token in the body to wherever it points.
      maxRedirects: 0,
      validateStatus: () => true,
    }),
    (message) => `registry ${options.registry}: ACR token exchange at ${url} failed: ${message}`,
  );
  const refreshToken = (response.data as { refresh_token?: string } | undefined)?.refresh_token;
  if (response.status !== 200 || !refreshToken) {
    throw new Error(
      `registry ${options.registry} refused the Azure AD token at /oauth2/exchange (HTTP ${response.status}): ` +
        'check that the identity of azure/login has the AcrPush role on this registry',
    );
  }
  options.mask?.(refreshToken);
  return refreshToken;
}

interface DockerConfig {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

async function dockerConfigCredentials(options: CredentialOptions): Promise<RegistryCredentials> {
  const dir = options.dockerConfigDir ?? process.env.DOCKER_CONFIG ?? join(homedir(), '.docker');
  const file = join(dir, 'config.json');
  let config: DockerConfig;
  try {
    config = JSON.parse(await readFile(file, 'utf8')) as DockerConfig;
  } catch (error) {
    throw new Error(`registry-auth docker-config: cannot read ${file}: ${(error as Error).message}`, { cause: error });
  }
  const { registry } = options;
  const helper = config.credHelpers?.[registry] ?? config.credsStore;
  const entry = Object.entries(config.auths ?? {}).find(
    ([key]) => key.replace(/^https?:\/\//, '').split('/')[0] === registry,
  )?.[1];
  if (entry) {
    const [username, password] = entry.auth
      ? splitOnce(Buffer.from(entry.auth, 'base64').toString())
      : [entry.username ?? '', entry.password ?? ''];
    if (entry.identitytoken) {
      options.mask?.(entry.identitytoken);
      return { kind: 'refresh-token', refreshToken: entry.identitytoken, username: username || ACR_REFRESH_TOKEN_USER };
    }
    if (password) {
      options.mask?.(password);
      return { kind: 'basic', username, password };
    }
  }
  if (helper && options.run) {
    const output = await options.run(`docker-credential-${helper}`, ['get'], registry);
    const { Username, Secret } = JSON.parse(output) as { Username: string; Secret: string };
    options.mask?.(Secret);
    return Username === '<token>'
      ? { kind: 'refresh-token', refreshToken: Secret }
      : { kind: 'basic', username: Username, password: Secret };
  }
  throw new Error(
    `registry-auth docker-config: ${file} has no credentials for ${registry} (run docker login ${registry})`,
  );
}

function splitOnce(text: string): [string, string] {
  const at = text.indexOf(':');
  return at < 0 ? [text, ''] : [text.slice(0, at), text.slice(at + 1)];
}
