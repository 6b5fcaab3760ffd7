/** The Prometheus preflight found a gate that cannot work (a typo, a metric that does not exist): bad input. */
export class PreflightError extends Error {
  override readonly name = 'PreflightError';
  constructor(readonly problems: string[]) {
    super(`preflight failed, nothing was changed:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}
