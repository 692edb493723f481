import { rowLine } from '../present/command-card.js';
import { isTerminal, readCommand, type CommandRow } from '../queue/command-record.js';
import { setDeadline } from '../queue/command-watcher.js';
import { latestEventId } from '../queue/events.js';
import { followCommand } from '../queue/follow-command.js';
import { executeCommand } from '../verbs/execute-command.js';
import type { BotCore } from './bot-core.js';
import { commandTimeoutMs } from './handle-command-line.js';
import { cardFor } from '../verbs/card-for.js';

/**
 * A command from a terminal, run by the bot for an authenticated person (`cli:<login>`): the same
 * parse, policy and queue as Slack, printed as plain lines as hosts finish. Returns the exit code:
 * 0 when everything worked. A rotation asked from a terminal is posted to the approvals channel.
 */
export async function runTerminalCommand(core: BotCore, args: string[], user: string, write: (line: string) => void): Promise<number> {
  const fromId = await latestEventId(core.redis, core.prefix, 'rowChanges');
  const reply = await executeCommand({ ...core, commandPrefix: 'runnerops' }, args, { via: 'cli', user });
  if (reply.kind === 'text') {
    write(reply.text);
    return reply.error ? 1 : 0;
  }
  if (reply.kind === 'approval') {
    const posted = await core.surface.postApproval(reply.approval, core.policy.channels.approvals).catch(() => undefined);
    write(
      `waiting for approval of "${reply.approval.text}" (request ${reply.approval.id}) by ${reply.approval.approvers.join(' or ')}; it expires at ${new Date(reply.approval.expiresAt).toISOString()}`,
    );
    if (!posted) write('the request could not be posted where approvers look: set channels.approvals in the policy');
    return 0;
  }
  const command = reply.command;
  await setDeadline(core.redis, core.prefix, command.id, command.createdAt + commandTimeoutMs(command));
  write(`queued ${command.text} [job ${command.id}] on ${command.hosts.join(', ')}`);
  const printed = new Set<string>();
  /** The lines after each finished row's first, already printed (a one-host total repeats them). */
  const details: string[] = [];
  const phases = new Map<string, string>();
  const print = (rows: CommandRow[]) => {
    for (const row of rows) {
      if (!isTerminal(row.status)) {
        const phase = [row.phase, row.detail].filter(Boolean).join(': ');
        if (phase && phases.get(row.host) !== phase) write(`  ${row.host}: ${phase}`);
        phases.set(row.host, phase);
        continue;
      }
      if (printed.has(row.host)) continue;
      printed.add(row.host);
      write(rowLine(row));
      const extras = (row.summary ?? '').split('\n').slice(1);
      details.push(extras.join('\n'));
      for (const extra of extras) write(`    ${extra}`);
    }
  };
  const blocking = core.redis.duplicate();
  try {
    const rows = await followCommand(core.redis, blocking, core.prefix, command.id, { fromId, timeoutMs: commandTimeoutMs(command), onRows: print });
    print(rows);
    const card = cardFor((await readCommand(core.redis, core.prefix, command.id)) ?? command, rows);
    write(card.footer);
    if (card.total && !(details.length === 1 && details[0]?.trim() === card.total)) write(card.total);
    return rows.every((r) => r.status === 'done') ? 0 : 1;
  } finally {
    blocking.disconnect();
  }
}
