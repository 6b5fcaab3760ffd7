// A whole rollout in the cluster: steps, a judgement after each, promote or roll back; resumes a promotion a crash
// interrupted. The analysis itself is passed in (`judge`), so this runs the same with Prometheus or a test's answer.
import type { Cluster } from '../core/ports.js';
import type { RolloutTarget } from '../core/target.js';
import { applyStep, promote, rollback, stableRunsNewImage, type ClusterRolloutOptions } from './rollout-cluster.js';

export type ClusterVerdict =
  | { verdict: 'promoted'; steps: number[] }
  | { verdict: 'rolled-back'; steps: number[]; reason: string; detail: string };

export type StepJudge = (weight: number) => Promise<{ pass: true } | { pass: false; reason: string; detail: string }>;

const alwaysPass: StepJudge = async () => ({ pass: true });

export async function runClusterRollout(
  cluster: Cluster,
  target: RolloutTarget,
  weights: number[],
  options: ClusterRolloutOptions & { revision?: number },
  judge: StepJudge = alwaysPass,
): Promise<ClusterVerdict> {
  const steps: number[] = [];
  const back = async (reason: string, detail: string): Promise<ClusterVerdict> => {
    await rollback(cluster, target, options);
    return { verdict: 'rolled-back', steps, reason, detail };
  };
  if (!(await stableRunsNewImage(cluster, target))) {
    for (const weight of weights) {
      const step = await applyStep(cluster, target, weight, options);
      steps.push(weight);
      if (!step.ready) return back(step.reason, step.detail);
      const judged = await judge(weight);
      if (!judged.pass) return back(judged.reason, judged.detail);
    }
  }
  const promoted = await promote(cluster, target, options, options.revision);
  if (!promoted.ready) return back(promoted.reason, promoted.detail);
  return { verdict: 'promoted', steps };
}
