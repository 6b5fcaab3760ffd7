// A port loaded on its first call, so a command that never talks to Kubernetes (plan, --help) never loads the
// Kubernetes client: the CLI starts in a blink. The bundle splits each dynamic import into its own chunk.

/** `load` runs once, at the first call of any member; every member of T must be an async method. */
export function lazyPort<T extends object>(load: () => Promise<T>): T {
  let loaded: Promise<T> | undefined;
  return new Proxy({} as T, {
    get: (_target, member) => {
      // Not a thenable: `await port` must give the port, not call a member named `then`.
      if (member === 'then') return undefined;
      return async (...args: unknown[]) => {
        const port = await (loaded ??= load());
        const method = port[member as keyof T] as unknown;
        if (typeof method !== 'function') throw new TypeError(`${String(member)} is not a method of the port`);
        return (method as (...values: unknown[]) => unknown).apply(port, args);
      };
    },
  });
}
