import type { KnownBlock } from '@slack/types';
import type { Approval } from '../approvals/approval-store.js';
import { codeSections, context, LIMITS, section } from './blocks.js';
import { fallbackText, fit, inlineCode, joinMrkdwn, md, mention, slackDate, type Mrkdwn } from './mrkdwn.js';

export const APPROVE_ACTION = 'runnerops.approve';
export const DENY_ACTION = 'runnerops.deny';

function targetOf(approval: Approval): string {
  const request = approval.request;
  // A request that names no host and no target acts on GitLab as a whole (cleanup-stale).
  if (!('host' in request) && !('target' in request)) return 'GitLab';
  if ('target' in request && request.target.kind === 'runner') return `runner #${request.target.id}`;
  return 'host' in request ? request.host : 'target' in request && request.target.kind === 'host' ? request.target.host : 'all hosts';
}

function describe(approval: Approval): Mrkdwn {
  return md`${mention(approval.requester.user)} asks to run ${inlineCode(approval.text)} on *${targetOf(approval)}*`;
}

const STATE_TEXT: Record<Approval['state'], string> = {
  pending: 'waiting for approval',
  approved: 'approved; queueing',
  running: 'approved; running',
  done: 'approved; finished',
  failed: 'approved; failed',
  denied: 'denied',
  expired: 'expired without a decision',
};

/** The Approve button's confirm dialog text: at most 300 characters after escaping, the command cut first. */
export function approveConfirmText(approval: Pick<Approval, 'text'>): Mrkdwn {
  const frame = (command: Mrkdwn) => md`This runs ${command} now.`;
  const room = LIMITS.confirmText - frame(md``).length;
  return frame(fit(inlineCode(approval.text), room));
}

/** The approval message: the request, its expiry and, while pending, Approve / Deny buttons. */
export function approvalBlocks(approval: Approval): { blocks: KnownBlock[]; text: string } {
  const blocks: KnownBlock[] = [section(md`:lock: ${describe(approval)}`)];
  if (approval.state === 'pending') {
    const roles = joinMrkdwn(
      approval.approvers.map((r) => `"${r}"`),
      ' or ',
    );
    blocks.push(context(md`Needs someone with the role ${roles} (not the requester). Expires ${slackDate(approval.expiresAt)}.`));
    blocks.push({
      type: 'actions',
      block_id: `approval-${approval.id}`,
      elements: [
        {
          type: 'button',
          action_id: APPROVE_ACTION,
          style: 'primary',
          text: { type: 'plain_text', text: 'Approve' },
          value: approval.id,
          confirm: {
            title: { type: 'plain_text', text: 'Approve this request?' },
            text: { type: 'mrkdwn', text: approveConfirmText(approval).text },
            confirm: { type: 'plain_text', text: 'Approve' },
            deny: { type: 'plain_text', text: 'Cancel' },
          },
        },
        { type: 'button', action_id: DENY_ACTION, style: 'danger', text: { type: 'plain_text', text: 'Deny' }, value: approval.id },
      ],
    });
  } else {
    const by = approval.decidedBy && approval.state !== 'expired' ? md` by ${mention(approval.decidedBy)}` : md``;
    const at = approval.decidedAt ? md` ${slackDate(approval.decidedAt)}` : md``;
    const reason = approval.reason ? md`: ${approval.reason}` : md``;
    blocks.push(context(md`*${STATE_TEXT[approval.state]}*${by}${at}${reason}`));
    // The outcome can be long (one line per host): as many code sections as the message has room for.
    if (approval.outcome) blocks.push(...codeSections(approval.outcome).slice(0, LIMITS.blocksPerMessage - blocks.length));
  }
  return { blocks, text: fallbackText(`${approval.text}: ${STATE_TEXT[approval.state]}`) };
}
