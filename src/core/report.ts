// Rollout records -> the report JSON of ../shared/CONTRACT.md.
import type { Plan } from './plan.js';
import type { Report } from './ports.js';

export function digestOf(image: string): string | undefined {
  return /@(sha256:[a-f0-9]{64})$/.exec(image)?.[1];
}

export function planReport(plan: Plan): Report {
  return {
    command: 'plan',
    model: plan.target.model,
    namespace: plan.target.namespace,
    verdict: 'planned',
    image: plan.target.image,
    digest: digestOf(plan.target.image),
    router: plan.router,
    gates: [],
    steps: plan.steps.map((step) => ({
      weight: step.weight,
      ...(step.replicas ? { replicas: step.replicas } : {}),
      objects: step.objects,
    })),
    warnings: plan.warnings,
  };
}
