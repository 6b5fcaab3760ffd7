// Text bound for the job log, unable to act as a workflow command. The GitHub runner reads every line a step prints
// (stdout and stderr, split at \n and \r) and acts on `::command::data` when the line starts with it after white
// space, and on the legacy `##[command]data` anywhere in a line: `::add-mask::`, `::error::`, `::stop-commands::`...
// Our log lines carry text from outside (container logs, Kubernetes events, cluster, registry and Prometheus errors),
// which a model's container or anyone with write access to the cluster chooses. Such text is wrapped the way GitHub
// documents for untrusted output: `::stop-commands::<token>` before it and `::<token>::` after, with a token the
// text cannot know, so nothing between them is acted on however the runner splits or trims it.

/**
 * Whether the runner could read a command in `text`. Deliberately loose: white space, line breaks and every invisible
 * character (format, control, combining) are dropped first, so no spacing, zero-width character or odd line break
 * hides a `::` or a `##[`. A false alarm only costs the two wrapping lines.
 */
export function mayHoldWorkflowCommand(text: string): boolean {
  return /::|##\[/.test(text.replace(/[^\p{L}\p{N}\p{P}\p{S}]/gu, ''));
}

/**
 * `text` as it may be printed to the job log: unchanged when it cannot hold a workflow command, else wrapped in
 * `::stop-commands::` with a token from `newToken` (random: the caller's, so this stays pure) that the text lacks.
 */
export function guardWorkflowCommands(text: string, newToken: () => string): string {
  if (!mayHoldWorkflowCommand(text)) return text;
  let token: string;
  do {
    token = newToken();
    // The runner registers the token as a command name, compared ignoring case.
    if (!/^[A-Za-z0-9]{16,}$/.test(token)) throw new Error('a stop-commands token must be 16+ letters or digits');
  } while (text.toLowerCase().includes(token.toLowerCase()));
  return `::stop-commands::${token}\n${text}\n::${token}::`;
}

/**
 * JSON (a report on stdout) for the job log, still the same value: `#` only occurs inside its strings, written as
 * `\u0023` no `##[` is left, and no line of indented JSON starts with `::`. Wrapping would break `| jq`.
 */
export function guardJsonForJobLog(json: string): string {
  return json.replace(/#/g, '\\u0023');
}
