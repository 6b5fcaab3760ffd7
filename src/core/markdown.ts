// Placeholder until the reporting module lands.
export function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_{}[\]<>()#+!|@~]/g, (char) => `\\${char}`).replace(/\r?\n/g, ' ');
}
