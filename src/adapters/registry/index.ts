// Wiring of the registry adapters for the engine: credentials once per build, one client per registry host,
// the two builders, tagging by digest, and the resolver deploy uses for `image:` inputs.
import type { BuildBackends, BuildRequest } from '../../engine/build.js';
import type { ImageResolver } from '../../core/ports.js';
import { ACR_REFRESH_TOKEN_USER, type RegistryCredentials } from './auth.js';
import { RegistryClient, type RegistryClientOptions } from './client.js';
import { registryCredentials, type CredentialOptions } from './credentials.js';
import { DockerBuilder } from './docker-builder.js';
import { actionsExec, commandRunner, type Exec } from './exec.js';
import { OciBuilder } from './oci-builder.js';
import { RegistryImageResolver } from './resolver.js';

export { RegistryClient } from './client.js';
export { RegistryImageResolver } from './resolver.js';
export { registryCredentials } from './credentials.js';

export interface RegistryAccessOptions {
  /** The registry that gets credentials; other hosts (a public base image) are read anonymously. */
  registry: string;
  auth?: BuildRequest['auth'];
  mask?: (secret: string) => void;
  exec?: Exec;
  dockerConfigDir?: string;
  /** Client tuning (chunk size, retries) and, for tests, the OAuth base URL of ACR's exchange. */
  client?: Partial<RegistryClientOptions>;
  oauthBaseUrl?: string;
}

export interface RegistryAccess {
  credentials: RegistryCredentials;
  clientFor(registry: string): RegistryClient;
  resolver: ImageResolver;
}

export async function registryAccess(options: RegistryAccessOptions): Promise<RegistryAccess> {
  const exec = options.exec ?? actionsExec();
  const auth = options.auth;
  const credentialOptions: CredentialOptions = {
    registry: options.registry,
    mode: auth?.mode,
    username: auth?.username,
    password: auth?.password ?? (auth?.mode === 'basic' ? auth.token : undefined),
    token: auth?.mode === 'azure' ? auth.token : undefined,
    tenant: auth?.tenant,
    dockerConfigDir: options.dockerConfigDir,
    run: commandRunner(exec),
    mask: options.mask,
    oauthBaseUrl: options.oauthBaseUrl,
  };
  const credentials = await registryCredentials(credentialOptions);
  const clients = new Map<string, RegistryClient>();
  const clientFor = (registry: string): RegistryClient => {
    let client = clients.get(registry);
    if (!client) {
      client = new RegistryClient({
        ...options.client,
        registry,
        credentials: registry === options.registry ? credentials : { kind: 'anonymous' },
        mask: options.mask,
      });
      clients.set(registry, client);
    }
    return client;
  };
  return { credentials, clientFor, resolver: new RegistryImageResolver(clientFor) };
}

/** Points each tag at an existing manifest: the manifest's own bytes PUT under the tag. */
export async function tagImage(
  client: RegistryClient,
  repository: string,
  digest: string,
  tags: string[],
): Promise<void> {
  const manifest = await client.getManifest(repository, digest);
  for (const tag of tags) await client.putManifest(repository, tag, manifest.body, manifest.mediaType);
}

export interface BuildBackendOptions extends RegistryAccessOptions {
  /** Scratch space for the layer file and docker's metadata file. */
  workDir: string;
}

export async function createBuildBackends(options: BuildBackendOptions): Promise<BuildBackends & RegistryAccess> {
  const access = await registryAccess(options);
  // Docker's build log goes to the job log; the az runner above stays silent (its output is a token).
  const exec = options.exec ?? actionsExec({}, true);
  const target = access.clientFor(options.registry);
  return {
    ...access,
    buildOci: async (request, onProgress) => {
      const result = await new OciBuilder({ clientFor: access.clientFor, onProgress }).build({
        ...request,
        modelPath: request.modelPath!,
        baseImage: request.baseImage!,
        workDir: options.workDir,
      });
      const { layer } = result;
      const model = {
        sha256: layer.modelSha256,
        files: layer.files.length,
        bytes: layer.files.reduce((sum, file) => sum + file.size, 0),
      };
      return { digest: result.digest, bytesUploaded: result.bytesUploaded, model };
    },
    buildDocker: async (request, pushTag) => {
      await dockerLogin(exec, options.registry, access.credentials);
      const builder = new DockerBuilder({
        exec,
        resolveDigest: (reference) => access.resolver.resolveDigest(`${options.registry}/${reference}`),
      });
      return builder.build({ ...request, pushTag, context: request.context ?? '.', workDir: options.workDir });
    },
    tag: (repository, digest, tags) => tagImage(target, repository, digest, tags),
  };
}

/** docker push needs the daemon's client logged in; the secret goes on stdin, never on the command line. */
async function dockerLogin(exec: Exec, registry: string, credentials: RegistryCredentials): Promise<void> {
  if (credentials.kind === 'anonymous') return;
  const [username, secret] =
    credentials.kind === 'basic'
      ? [credentials.username, credentials.password]
      : [credentials.username ?? ACR_REFRESH_TOKEN_USER, credentials.refreshToken];
  const result = await exec('docker', ['login', registry, '--username', username, '--password-stdin'], {
    input: secret,
  });
  if (result.exitCode !== 0) {
    throw new Error(`docker login ${registry} as ${username} failed: ${result.stderr.trim().split('\n').pop() ?? ''}`);
  }
}
