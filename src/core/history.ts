// Rollout history kept in the cluster: one record per rollout, the last 20, so a manual rollback needs no rebuild.
import type { ModelProvenance } from './model-source.js';
import type { Verdict } from './ports.js';

export const HISTORY_LIMIT = 20;
export const HISTORY_KEY = 'history.json';
export const REVISION_ANNOTATION = 'model-canary.io/revision';

export const historyConfigMapName = (model: string): string => `model-canary-${model}-history`;

export interface HistoryRecord {
  revision: number;
  image: string;
  digest: string;
  manifestHash: string;
  /** The registered model the image holds, when known. */
  model?: ModelProvenance;
  verdict: Verdict;
  startedAt: string;
  endedAt: string;
  pr?: number;
  runUrl?: string;
  actor?: string;
}

const isRecord = (value: unknown): value is HistoryRecord => {
  if (!value || typeof value !== 'object') return false;
  const r = value as Record<string, unknown>;
  return typeof r.revision === 'number' && typeof r.image === 'string' && typeof r.verdict === 'string';
};

/** Records from the ConfigMap's data, oldest first. Unreadable data is an error naming the ConfigMap. */
export function parseHistory(data: Record<string, string> | undefined, configMap: string): HistoryRecord[] {
  const text = data?.[HISTORY_KEY];
  if (!text) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new Error(`ConfigMap ${configMap} key ${HISTORY_KEY} is not JSON (${String(error)}): fix or delete it`, {
      cause: error,
    });
  }
  if (!Array.isArray(parsed) || !parsed.every(isRecord)) {
    throw new Error(`ConfigMap ${configMap} key ${HISTORY_KEY} is not a list of rollout records: fix or delete it`);
  }
  return [...parsed].sort((a, b) => a.revision - b.revision);
}

export const serializeHistory = (records: HistoryRecord[]): Record<string, string> => ({
  [HISTORY_KEY]: JSON.stringify(records),
});

export function nextRevision(records: HistoryRecord[]): number {
  return records.reduce((max, r) => Math.max(max, r.revision), 0) + 1;
}

/** Adds or replaces (same revision: a re-run) the record, keeping the newest `limit`. */
export function appendRecord(records: HistoryRecord[], record: HistoryRecord, limit = HISTORY_LIMIT): HistoryRecord[] {
  const others = records.filter((r) => r.revision !== record.revision);
  return [...others, record].sort((a, b) => a.revision - b.revision).slice(-limit);
}

const deployed = (r: HistoryRecord): boolean => r.verdict === 'promoted' || r.verdict === 'rolled-back';

/**
 * The record `rollback --to-revision` re-applies. `previous`: the newest record that reached stable before the one
 * stable runs now (`current`), with another image. A number: that revision, which must have reached stable.
 * A `current` the history does not hold was left by a run that died before recording it (a rollback halfway): then
 * `previous` counts from the newest recorded stable, so re-running a rollback that died goes where it was going,
 * never back to the version it was leaving.
 */
export function pickRevision(records: HistoryRecord[], to: 'previous' | number, current?: number): HistoryRecord {
  if (to === 'previous') {
    const currentRecord =
      records.find((r) => r.revision === current) ??
      (current === undefined ? undefined : records.filter(deployed).at(-1));
    const from = currentRecord?.revision ?? current;
    const candidates = records.filter(
      (r) => deployed(r) && (from === undefined || r.revision < from) && r.image !== currentRecord?.image,
    );
    const found = candidates.at(-1);
    if (!found) {
      throw new Error(
        `no earlier revision to roll back to (history has ${records.length} records${current ? `, stable is at revision ${current}` : ''}): pass to-revision with a revision number from 'status'`,
      );
    }
    return found;
  }
  const found = records.find((r) => r.revision === to);
  if (!found) {
    const known = records.map((r) => r.revision).join(', ') || 'none';
    throw new Error(`revision ${to} is not in the history (kept: ${known}): pick one that 'status' lists`);
  }
  if (!deployed(found)) {
    throw new Error(`revision ${to} was ${found.verdict}, never stable: pick a promoted revision that 'status' lists`);
  }
  return found;
}

/**
 * A re-run of the workflow run whose rollback the history's newest record is: `previous` then means what it meant
 * the first time (that record's image), so re-running a rollback that failed at its very end does not roll back again.
 */
export function rollbackOfThisRun(records: HistoryRecord[], runUrl: string | undefined): HistoryRecord | undefined {
  const newest = records.at(-1);
  return runUrl && newest?.verdict === 'rolled-back' && newest.runUrl === runUrl ? newest : undefined;
}

const shortDigest = (digest: string): string => digest.replace(/^sha256:/, '').slice(0, 12);

/** `name:version (sha256 prefix)`, how a revision's model is shown in `status`. */
export const modelLabel = (model: ModelProvenance): string =>
  `${model.name}:${model.version} (${model.sha256.slice(0, 12)})`;

/** The history as a text table for `status`, newest first, the current revision marked with `*`. */
export function renderHistoryTable(records: HistoryRecord[], current?: number): string {
  const header = ['REV', 'VERDICT', 'DIGEST', 'MODEL', 'STARTED', 'DURATION', 'PR', 'ACTOR'];
  const rows = [...records].reverse().map((r) => {
    const seconds = Math.max(0, Math.round((Date.parse(r.endedAt) - Date.parse(r.startedAt)) / 1000));
    return [
      `${r.revision === current ? '*' : ' '}${r.revision}`,
      r.verdict,
      shortDigest(r.digest),
      r.model ? modelLabel(r.model) : '-',
      r.startedAt.replace(/\.\d+Z$/, 'Z'),
      `${seconds}s`,
      r.pr ? `#${r.pr}` : '-',
      r.actor ?? '-',
    ];
  });
  if (rows.length === 0) return 'no rollouts recorded yet';
  const table = [header, ...rows];
  const widths = header.map((_, col) => Math.max(...table.map((row) => (row[col] ?? '').length)));
  return table
    .map((row) =>
      row
        .map((cell, col) => cell.padEnd(widths[col] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
