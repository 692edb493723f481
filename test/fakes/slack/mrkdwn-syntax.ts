/**
 * What Slack renders specially in mrkdwn: `<!channel>`, `<!here>`, `<!everyone>`, `<!subteam^S…>`,
 * `<@U…>`, `<#C…>`, `<!date^…>` and links `<https://…|label>`. Escaped text (`&lt;!channel&gt;`) is
 * shown as typed. The fake records the sequences each message would render, so tests can prove that
 * text from a person or a config file never becomes a ping or a disguised link.
 */
const SEQUENCE = /<([^<>\n]+)>/g;

/** Every control sequence in one mrkdwn text, as sent (e.g. `<!channel>`, `<https://x|label>`). */
export function controlSequences(text: string): string[] {
  return [...text.matchAll(SEQUENCE)].map((m) => m[0]);
}

/** Sequences that notify people beyond the one mentioned: broadcasts and user groups. */
export function isBroadcast(sequence: string): boolean {
  return /^<!(channel|here|everyone|subteam\^)/.test(sequence);
}

/** A link whose label hides where it goes (`<https://evil|docs>`). */
export function isLabelledLink(sequence: string): boolean {
  return /^<[a-z][a-z0-9+.-]*:[^|]*\|/i.test(sequence);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Every mrkdwn text in a Block Kit payload (section text and fields, context, confirm dialogs). */
export function mrkdwnTexts(value: unknown): string[] {
  const found: string[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (!isRecord(node)) return;
    if (node.type === 'mrkdwn' && typeof node.text === 'string') found.push(node.text);
    for (const child of Object.values(node)) walk(child);
  };
  walk(value);
  return found;
}

/** Control sequences Slack would render for a message: its `text` (mrkdwn by default) and its blocks. */
export function messageSequences(text: string | undefined, blocks: unknown): string[] {
  return [...(text ? controlSequences(text) : []), ...mrkdwnTexts(blocks).flatMap(controlSequences)];
}
