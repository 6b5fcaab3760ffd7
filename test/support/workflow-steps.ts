// A shipped workflow's model-canary steps as GitHub would run them: the `with:` of each step, with the
// `${{ inputs.NAME }}` expressions of a workflow_dispatch filled in. Other expressions are left for the test to see.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

interface Step {
  uses?: string;
  with?: Record<string, unknown>;
}

export function modelCanarySteps(path: string): Array<{ with: Record<string, unknown> }> {
  const workflow = parse(readFileSync(path, 'utf8')) as { jobs?: Record<string, { steps?: Step[] }> };
  return Object.values(workflow.jobs ?? {})
    .flatMap((job) => job.steps ?? [])
    .filter((step) => /^[\w.-]+\/model-canary@/.test(step.uses ?? ''))
    .map((step) => ({ with: step.with ?? {} }));
}

export function withExpressions(
  values: Record<string, unknown>,
  inputs: Record<string, string>,
): Record<string, string> {
  return Object.fromEntries(
    Object.entries(values).map(([key, value]) => [
      key,
      String(value).replace(/\$\{\{\s*inputs\.([\w-]+)\s*\}\}/g, (whole, name: string) => inputs[name] ?? whole),
    ]),
  );
}
