import readline from 'node:readline';
import type { BotCore } from '../bot/bot-core.js';
import { handleCommandLine } from '../bot/handle-command-line.js';
import { handleDecision } from '../bot/handle-decision.js';
import { DEV_USER } from './dev-policy.js';

const CONSOLE_HELP = [
  'type commands as in Slack: "/runner hosts", "ping all", "prune <host> --dry-run" ("/runner" is optional)',
  'act as someone else: "as alice /runner ..."; answer approvals: "as alice approve <id>", "as bob deny <id> <reason>"',
  '"exit" (or Ctrl-D) stops everything',
].join('\n');

/** Handles one console line; returns false when the user wants to stop. */
export async function handleConsoleLine(core: BotCore, line: string): Promise<boolean> {
  let text = line.trim();
  if (text === '') return true;
  if (text === 'exit' || text === 'quit') return false;
  let user = DEV_USER;
  const as = /^as\s+([A-Za-z0-9._-]{1,32})\s+(.*)$/.exec(text);
  if (as) {
    user = as[1] ?? user;
    text = (as[2] ?? '').trim();
  }
  text = text.replace(/^\/runner\b\s*/, '');
  const decision = /^(approve|deny)\s+(\S+)\s*(.*)$/.exec(text);
  if (decision) {
    await handleDecision(core, decision[1] as 'approve' | 'deny', decision[2] ?? '', user, 'console', decision[3] || undefined);
    return true;
  }
  if (text === '?') {
    await core.surface.tell(user, 'console', CONSOLE_HELP);
    return true;
  }
  await handleCommandLine(core, text, { via: 'console', user, channel: 'console' });
  return true;
}

/** The local console of `runnerops dev`: reads lines until "exit" or end of input. */
export async function runConsole(core: BotCore, input: NodeJS.ReadableStream, write: (line: string) => void): Promise<void> {
  write(CONSOLE_HELP);
  const lines = readline.createInterface({ input, terminal: false });
  for await (const line of lines) {
    try {
      if (!(await handleConsoleLine(core, line))) break;
    } catch (err) {
      write(`error: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
    }
  }
  lines.close();
}
