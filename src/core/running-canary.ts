// What `status` says about a canary that runs now: weight, since when, the gates at the last look, who holds it.
import { formatDuration } from './duration.js';
import { renderGatesText } from './render-gates.js';
import type { GateReport } from './ports.js';
import type { RolloutRecord } from './rollout-record.js';

export interface RunningCanary {
  state: RolloutRecord['state'];
  image: string;
  weight?: number;
  since?: string;
  revision: number;
  holder: string;
  runUrl?: string;
  actor?: string;
  startedAt: string;
  gates: GateReport[];
}

export function runningCanary(record: RolloutRecord): RunningCanary {
  return {
    state: record.state,
    image: record.target.image,
    ...(record.weight !== undefined ? { weight: record.weight } : {}),
    ...(record.weightSince ? { since: record.weightSince } : {}),
    revision: record.revision,
    holder: record.holder,
    ...(record.runUrl ? { runUrl: record.runUrl } : {}),
    ...(record.actor ? { actor: record.actor } : {}),
    startedAt: record.startedAt,
    gates: record.gates ?? [],
  };
}

const STATE_TEXT: Record<RolloutRecord['state'], string> = {
  running: 'a deploy is stepping it',
  canary: 'left running by `canary` for analyze, promote or abort',
  held: 'held for a person to promote or abort',
  finished: 'finished',
};

export function renderRunningCanary(canary: RunningCanary, now: Date): string {
  const since = canary.since
    ? ` since ${canary.since} (${formatDuration(now.getTime() - Date.parse(canary.since))})`
    : '';
  const lines = [
    `canary ${canary.image} at ${canary.weight ?? '?'}%${since}: ${STATE_TEXT[canary.state]}`,
    `revision ${canary.revision}, started ${canary.startedAt} by ${canary.holder}${canary.actor ? ` (${canary.actor})` : ''}`,
    ...(canary.runUrl ? [`run: ${canary.runUrl}`] : []),
    canary.gates.length > 0 ? `gates at the last look:\n${renderGatesText(canary.gates)}` : 'no look yet',
  ];
  return lines.join('\n');
}
