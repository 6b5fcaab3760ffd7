/** A write lost a race (stale resourceVersion, or the object already exists): re-read and decide again. */
export class ConflictError extends Error {
  override readonly name = 'ConflictError';
}

export const isConflict = (error: unknown): error is ConflictError =>
  error instanceof Error && error.name === 'ConflictError';
