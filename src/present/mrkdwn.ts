/**
 * The one escaping step between our text and Slack. Everything the app sends as mrkdwn (section and
 * context text, confirm dialogs, the `text` fallback, file comments) is a `Mrkdwn` value: built with the
 * `md` template, which escapes every interpolated string, or from the few constructors below that make
 * Slack syntax on purpose (a mention of a validated user id, a date). So `<!channel>`, `<!here>`,
 * `<@U…>` and `<https://x|label>` typed by a person or written into a runner's name arrive as text.
 *
 * Lengths are measured on the escaped text (what Slack counts), and `fit` never cuts an escape
 * (`&amp;`) or a control sequence (`<@U…>`) in half.
 */

/** Text in Slack's mrkdwn, safe to send as it is. Build it with `md`, `escapeText` or the helpers here. */
export class Mrkdwn {
  constructor(readonly text: string) {}
  get length(): number {
    return this.text.length;
  }
  toString(): string {
    return this.text;
  }
}

type Part = string | number | Mrkdwn;

/** Escapes the three characters Slack's mrkdwn and `text` fallbacks treat specially. */
export function escapeText(text: string): Mrkdwn {
  return new Mrkdwn(text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;'));
}

function piece(part: Part): string {
  if (part instanceof Mrkdwn) return part.text;
  return escapeText(String(part)).text;
}

/** A mrkdwn template: the literal parts are ours, every interpolated string is escaped. */
export function md(strings: TemplateStringsArray, ...values: Part[]): Mrkdwn {
  let out = strings[0] ?? '';
  values.forEach((value, i) => {
    out += piece(value) + (strings[i + 1] ?? '');
  });
  return new Mrkdwn(out);
}

/** Joins parts (strings are escaped) with a separator. */
export function joinMrkdwn(parts: Part[], separator: string): Mrkdwn {
  return new Mrkdwn(parts.map(piece).join(escapeText(separator).text));
}

/** `<@U…>` for a Slack user id; anything else (a console or terminal user) is shown as escaped text. */
export function mention(user: string): Mrkdwn {
  return /^[UW][A-Z0-9]{2,}$/.test(user) ? new Mrkdwn(`<@${user}>`) : escapeText(user);
}

/** A date every reader sees in their own time zone, with the ISO time as the fallback. */
export function slackDate(ms: number): Mrkdwn {
  return new Mrkdwn(`<!date^${Math.floor(ms / 1000)}^{date_short_pretty} {time}|${new Date(ms).toISOString()}>`);
}

/** Inline code; a backtick inside would end it early, so it becomes a quote. */
export function inlineCode(text: string): Mrkdwn {
  return md`\`${text.replace(/`/g, "'")}\``;
}

/** Where text may be cut: not inside an escape like `&amp;` nor inside a `<...>` sequence. */
function safeCut(text: string, at: number): number {
  let cut = Math.max(0, Math.min(at, text.length));
  const amp = text.lastIndexOf('&', cut - 1);
  if (amp !== -1) {
    const semi = text.indexOf(';', amp);
    if (semi >= cut && semi - amp <= 5) cut = amp;
  }
  const open = text.lastIndexOf('<', cut - 1);
  if (open !== -1) {
    const close = text.indexOf('>', open);
    if (close >= cut) cut = open;
  }
  return cut;
}

/** The text cut to at most `max` characters as Slack counts them (after escaping), ending in `…` when cut. */
export function fit(text: Mrkdwn, max: number): Mrkdwn {
  if (text.length <= max) return text;
  return new Mrkdwn(`${text.text.slice(0, safeCut(text.text, max - 1))}…`);
}

/** A plain_text value cut to `max` characters (plain_text is shown as typed: no escaping). */
export function fitPlain(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('')}…`;
}

/**
 * Packs lines into code blocks of at most `max` characters each after escaping, cutting at line ends; a
 * single line longer than that is cut with `…`. Returns each block and how many lines it holds.
 */
export function packCodeLines(lines: string[], max: number): Array<{ block: Mrkdwn; lines: number }> {
  const room = max - 6; // the two ``` fences
  const packed: Array<{ body: string; lines: number }> = [];
  let current: { body: string; lines: number } | undefined;
  for (const raw of lines) {
    let line = escapeText(raw).text;
    if (line.length > room) line = `${line.slice(0, safeCut(line, room - 1))}…`;
    if (current && current.body.length + 1 + line.length > room) {
      packed.push(current);
      current = undefined;
    }
    current = current ? { body: `${current.body}\n${line}`, lines: current.lines + 1 } : { body: line, lines: 1 };
  }
  packed.push(current ?? { body: '', lines: 0 });
  return packed.map((p) => ({ block: new Mrkdwn(`\`\`\`${p.body === '' ? ' ' : p.body}\`\`\``), lines: p.lines }));
}

/** Splits text into code blocks that each fit `max` characters after escaping (see packCodeLines). */
export function codeBlocks(text: string, max: number): Mrkdwn[] {
  return packCodeLines(text.split('\n'), max).map((p) => p.block);
}

/** The first line of a text, escaped and short (one of our one-line answers fits), for notifications and the `text` fallback. */
export function fallbackText(text: string, max = 300): string {
  const first = text.trim().split('\n', 1)[0] ?? '';
  return first === '' ? '(no text)' : fit(escapeText(first), max).text;
}
