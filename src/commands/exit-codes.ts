/** ../shared/CONTRACT.md exit codes. */
export const EXIT = { ok: 0, error: 1, badInput: 2, rolledBack: 3, inconclusive: 4 } as const;
