import { jobTimeoutMs } from '../queue/enqueue.js';
import { describeError } from '../errors.js';
import type { Requester } from '../queue/command-record.js';
import { setDeadline } from '../queue/command-watcher.js';
import { executeCommand, type Reply } from '../verbs/execute-command.js';
import type { BotCore } from './bot-core.js';
import { cardFor } from '../verbs/card-for.js';
import { onCommandChange } from './on-command-change.js';
import { isTerminal, readRows, updateCommand, type CommandRecord, type CommandRow } from '../queue/command-record.js';

/** How long a new card waits for its command to finish before it is posted as it stands. */
const CARD_WAIT_MS = 1000;

/**
 * Posts a new command's card, drawn from the rows as they are now (a fast command's card is posted
 * finished and never needs an update), and records where it is, so every replica can update it.
 */
export async function showCard(core: BotCore, command: CommandRecord, channel: string | undefined): Promise<void> {
  let stored = await readRows(core.redis, core.prefix, command.id);
  // Up to a second for fast commands to finish, so their card is posted once, finished.
  const deadline = Date.now() + CARD_WAIT_MS;
  while (core.rowsChanged && !(stored.length > 0 && stored.every((r) => isTerminal(r.status))) && Date.now() < deadline) {
    await core.rowsChanged(command.id, deadline - Date.now());
    stored = await readRows(core.redis, core.prefix, command.id);
  }
  const rows = stored.length > 0 ? stored : command.hosts.map((host): CommandRow => ({ host, status: 'queued', queuedAt: command.createdAt }));
  const shown = cardFor(command, rows);
  const location = await core.surface.postCard(command, shown, channel);
  if (location) {
    await updateCommand(core.redis, core.prefix, command.id, { card: location });
    // Jobs may have finished between the read and the post: redraw from Redis if anything changed.
    await onCommandChange(core, command.id, { shown });
  }
}

/** How long the bot waits for a command's hosts before calling them silent. */
export function commandTimeoutMs(command: CommandRecord): number {
  return command.timeoutMs ?? jobTimeoutMs(command.job);
}

/**
 * Runs one command line from Slack or the console and shows the outcome on the surface: a private
 * text answer, a job card, or an approval request plus a private "waiting for approval" note.
 */
export async function handleCommandLine(core: BotCore, text: string, requester: Requester): Promise<Reply> {
  const reply = await executeCommand(core, text, requester);
  try {
    switch (reply.kind) {
      case 'text':
        await core.surface.tell(requester.user, requester.channel, reply.text);
        break;
      case 'queued': {
        const command = reply.command;
        await setDeadline(core.redis, core.prefix, command.id, command.createdAt + commandTimeoutMs(command));
        await showCard(core, command, requester.channel);
        break;
      }
      case 'approval': {
        const channel = core.policy.channels.approvals ?? requester.channel;
        await core.surface.postApproval(reply.approval, channel);
        await core.surface.tell(
          requester.user,
          requester.channel,
          `waiting for approval of "${reply.approval.text}" (request ${reply.approval.id}); it expires at ${new Date(reply.approval.expiresAt).toISOString()}`,
        );
        break;
      }
    }
  } catch (err) {
    core.log.error({ err }, 'could not show a command outcome');
    await core.surface.tell(requester.user, requester.channel, outcomeNotShown(reply, err)).catch(() => undefined);
  }
  return reply;
}

/** What to tell the person when the command was handled but its card or approval could not be shown. */
export function outcomeNotShown(reply: Reply, err: unknown): string {
  const why = describeError(err);
  // describeError's Redis line says "nothing was queued": true before queueing, not after.
  const reason = why.startsWith('Redis did not answer') ? 'Redis did not answer' : why;
  switch (reply.kind) {
    case 'queued':
      return `queued ${reply.command.text} [job ${reply.command.id}], but its card could not be shown (${reason}); "job ${reply.command.id}" shows how it ends`;
    case 'approval':
      return `asked for approval of "${reply.approval.text}" (request ${reply.approval.id}), but the request could not be posted where approvers look (${reason}); give them the request id, or ask again`;
    default:
      return `could not show the result: ${why}`;
  }
}
