// The inputs that name files and folders, checked before a command starts: a path that is not there is bad input
// (exit 2, naming the input and the path), not an ENOENT from deep inside a build or the Kubernetes client.
import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ConfigError, type RolloutConfig } from '../core/config.js';

type Kind = 'file' | 'directory';

/** What is at `path`: a file, a directory, or why there is nothing usable (missing, unreadable). */
async function whatIsAt(path: string): Promise<Kind | 'other' | { missing: string }> {
  try {
    const info = await stat(path);
    return info.isDirectory() ? 'directory' : info.isFile() ? 'file' : 'other';
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return { missing: code === 'ENOENT' || code === 'ENOTDIR' ? 'does not exist' : `cannot be read (${code})` };
  }
}

async function pathProblem(key: string, given: string, cwd: string, want: Kind, hint = ''): Promise<string[]> {
  const full = resolve(cwd, given);
  const found = await whatIsAt(full);
  if (found === want) return [];
  const where = full === given ? '' : ` (looked at ${full})`;
  const why = typeof found === 'object' ? found.missing : `is not a ${want}`;
  return [`${key}: ${JSON.stringify(given)} ${why}${where}${hint}`];
}

/** The kubeconfig given must be a readable YAML file naming at least one cluster. */
async function kubeconfigProblems(path: string, cwd: string): Promise<string[]> {
  const missing = await pathProblem('kubeconfig', path, cwd, 'file');
  if (missing.length > 0) return missing;
  let text: string;
  try {
    text = await readFile(resolve(cwd, path), 'utf8');
  } catch (error) {
    return [`kubeconfig: ${JSON.stringify(path)} cannot be read (${(error as NodeJS.ErrnoException).code})`];
  }
  let value: unknown;
  try {
    value = parseYaml(text);
  } catch (error) {
    return [`kubeconfig: ${JSON.stringify(path)} is not valid YAML: ${(error as Error).message.split('\n')[0]}`];
  }
  const clusters = (value as { clusters?: unknown } | null)?.clusters;
  if (typeof value !== 'object' || value === null || !Array.isArray(clusters) || clusters.length === 0) {
    return [`kubeconfig: ${JSON.stringify(path)} is not a kubeconfig (no clusters in it)`];
  }
  return [];
}

/** Whether this run builds an image (or, for plan, shows the build): `build`, and a rollout or a plan given no image. */
function builds(config: RolloutConfig): boolean {
  if (config.command === 'build') return true;
  const { registry, repository } = config.build;
  return ['deploy', 'canary', 'plan'].includes(config.command) && !config.image && Boolean(registry && repository);
}

async function buildProblems(config: RolloutConfig, cwd: string): Promise<string[]> {
  const { builder, context, dockerfile, modelPath, modelSource } = config.build;
  const problems: string[] = [];
  // With a model-source, model-path is where the download goes (docker) and need not exist.
  if (modelPath && !modelSource) {
    if (builder === 'oci') {
      problems.push(...(await pathProblem('model-path', modelPath, cwd, 'directory', ': the model files go there')));
    } else {
      const inContext = await whatIsAt(resolve(cwd, context, modelPath));
      if (typeof inContext === 'object') {
        const found = await whatIsAt(resolve(cwd, modelPath));
        if (typeof found === 'object') {
          problems.push(
            `model-path: ${JSON.stringify(modelPath)} ${found.missing} (looked at ${resolve(cwd, modelPath)})`,
          );
        }
      }
    }
  }
  if (builder === 'docker') {
    const contextProblems = await pathProblem('context', context, cwd, 'directory', ': the docker build context');
    problems.push(...contextProblems);
    if (dockerfile) {
      problems.push(...(await pathProblem('dockerfile', dockerfile, cwd, 'file')));
    } else if (contextProblems.length === 0) {
      problems.push(
        ...(await pathProblem(
          'dockerfile',
          `${context.replace(/\/+$/, '')}/Dockerfile`,
          cwd,
          'file',
          ': add a Dockerfile to the context, name one with dockerfile, or use builder oci with model-path and base-image',
        )),
      );
    }
  }
  return problems;
}

/**
 * Throws a ConfigError with every problem among the inputs that the config alone cannot check: files that must
 * exist, the kubeconfig, and what `plan` needs to show an image. Nothing is contacted.
 */
export async function checkInputs(config: RolloutConfig, cwd: string): Promise<void> {
  const problems: string[] = [];
  if (config.kubeconfig) problems.push(...(await kubeconfigProblems(config.kubeconfig, cwd)));
  if (config.command === 'plan' && !config.image) {
    const { registry, repository } = config.build;
    if (!registry && !repository) {
      problems.push(
        "image: 'plan' needs the image to deploy, or registry and repository for the one build would push (got neither)",
      );
    } else if (!registry || !repository) {
      const [missing, given] = registry
        ? ['repository', `registry ${registry}`]
        : ['registry', `repository ${repository}`];
      problems.push(`${missing}: required with ${given} for the image build would push (or give image)`);
    }
  }
  if (builds(config)) problems.push(...(await buildProblems(config, cwd)));
  if (problems.length > 0) throw new ConfigError(problems);
}
