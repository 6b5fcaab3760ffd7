// Markdown building blocks that stay safe with text from outside (metric labels, commit messages, error messages,
// model names): nothing such a value contains can break a table, open HTML, hide text in a comment, ping a person or
// a team, or link an issue. Pure.

/** Longest text kept from one outside value; more is cut with an ellipsis so one value cannot flood a comment. */
export const MAX_VALUE_LENGTH = 300;

const ZERO_WIDTH_SPACE = '\u200b';

/** Newlines, tabs and other control characters become single spaces: a table row or a verdict line stays one line. */
function oneLine(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, ' ').trim();
}

function truncate(text: string, max: number): string {
  const chars = Array.from(text);
  return chars.length > max ? `${chars.slice(0, max - 1).join('')}…` : text;
}

/**
 * Outside text for inline Markdown and table cells: HTML (and so `<!-- -->`) is shown as text, Markdown syntax is
 * escaped, pipes cannot end a cell, and `@name`, `@org/team` and `#123` do not notify or cross-reference.
 */
export function escapeText(value: unknown, max = MAX_VALUE_LENGTH): string {
  const text = truncate(oneLine(String(value ?? '')), max);
  return (
    text
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      // Backslash first, so the escapes added below are not themselves escaped again.
      .replace(/[\\`*_[\]{}()#+!|~]/g, (char) => `\\${char}`)
      // A zero-width space after '@' keeps the text readable but stops GitHub from resolving a mention.
      .replace(/@/g, `@${ZERO_WIDTH_SPACE}`)
      // Numbered-list and heading starts are harmless inline; '-' at the start of a line cannot occur (one line).
      .replace(/\\#(?=\d)/g, `\\#${ZERO_WIDTH_SPACE}`)
  );
}

/**
 * `<!--` and `-->` inside code are shown as text, but they stay in the raw comment body, where a search for a
 * hidden marker (ours, or anyone's tool) finds them: outside text holding one is written in an HTML form instead,
 * with `<` and `>` as character references, which reads and copies the same.
 */
const HTML_COMMENT_DELIMITER = /<!--|-->/;

/** Every ASCII punctuation character as a numeric character reference: literal text to Markdown and to HTML alike. */
function literalPunctuation(text: string): string {
  return text.replace(/[!-/:-@[-`{-~]/g, (char) => `&#${char.charCodeAt(0)};`);
}

/**
 * A code span showing `value` literally, whatever backticks it holds (the fence is longer than any run inside), and
 * safe inside a table cell (pipes escaped: GFM removes the backslash before it parses the span). Text holding an HTML
 * comment delimiter becomes `<code>` with its punctuation as character references (Markdown parses inside `<code>`,
 * so every mark is neutralised, and a pipe as `&#124;` cannot end a table cell).
 */
export function codeSpan(value: unknown, max = MAX_VALUE_LENGTH): string {
  const line = truncate(oneLine(String(value ?? '')), max);
  if (HTML_COMMENT_DELIMITER.test(line)) return `<code>${literalPunctuation(line)}</code>`;
  const text = line.replace(/\|/g, '\\|');
  if (text === '') return '` `';
  const longestRun = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longestRun + 1);
  // A space on each side when the text starts or ends with a backtick, or it would join the fence.
  const pad = text.startsWith('`') || text.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${text}${pad}${fence}`;
}

/**
 * A block for multi-line outside text (an error message, a log excerpt, YAML); it must start a line. Fenced, with a
 * fence that outlasts any inside; text holding an HTML comment delimiter becomes a `<pre>` block instead, with `&`,
 * `<` and `>` as references (a `<pre>` HTML block runs to its `</pre>`, blank lines included, and is not Markdown).
 */
export function codeBlock(value: unknown, max = 4000, language = 'text'): string {
  const text = truncate(String(value ?? '').replace(/\r\n?/g, '\n'), max);
  if (HTML_COMMENT_DELIMITER.test(text)) {
    const html = text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
    return `<pre><code>${html}</code></pre>`;
  }
  const longestRun = Math.max(0, ...(text.match(/`{3,}/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(Math.max(3, longestRun + 1));
  return `${fence}${language}\n${text}\n${fence}`;
}

/** A link whose text is escaped and whose URL cannot close the link early. Non-http(s) URLs are shown as text. */
export function link(text: string, url: string): string {
  if (!/^https?:\/\//i.test(url)) return escapeText(text);
  const safeUrl = url.replace(
    /[\s()<>|]/g,
    (char) => `%${char.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`,
  );
  return `[${escapeText(text)}](${safeUrl})`;
}

/** A GFM table; cells are already Markdown (escape outside values with `escapeText` or `codeSpan` first). */
export function table(header: string[], rows: string[][], align?: Array<'left' | 'right' | 'center'>): string {
  const rule = header.map((_, index) => {
    const side = align?.[index] ?? 'left';
    return side === 'right' ? '---:' : side === 'center' ? ':---:' : '---';
  });
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  return [line(header), line(rule), ...rows.map(line)].join('\n');
}

/** A hidden HTML comment that finds a comment again; the id is limited to characters that cannot close it. */
export function hiddenMarker(id: string): string {
  return `<!-- ${id.replace(/[^A-Za-z0-9._:/-]/g, '_')} -->`;
}
