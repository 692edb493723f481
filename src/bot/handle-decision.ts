import { approveRequest, denyRequest, type Decided } from '../approvals/decide-approval.js';
import { setDeadline } from '../queue/command-watcher.js';
import type { BotCore } from './bot-core.js';
import { commandTimeoutMs, showCard } from './handle-command-line.js';

/**
 * An Approve or Deny click (or console line) by `user`: refusals go privately to the clicker and change
 * nothing; a decision redraws the approval message and, once approved, posts the job card.
 */
export async function handleDecision(
  core: BotCore,
  decision: 'approve' | 'deny',
  approvalId: string,
  user: string,
  channel: string | undefined,
  reason?: string,
): Promise<Decided> {
  const result = decision === 'approve' ? await approveRequest(core, approvalId, user) : await denyRequest(core, approvalId, user, reason);
  if (!result.ok) {
    await core.surface.tell(user, channel, result.reason);
    if (result.approval && result.approval.state === 'expired') await core.surface.updateApproval(result.approval);
    return result;
  }
  await core.surface.updateApproval(result.approval);
  if (result.command) {
    const command = result.command;
    await setDeadline(core.redis, core.prefix, command.id, command.createdAt + commandTimeoutMs(command));
    const where = result.approval.message?.channel ?? result.approval.requester.channel;
    await showCard(core, command, where);
  }
  return result;
}
