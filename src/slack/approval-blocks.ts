import type { KnownBlock } from '@slack/types';
import type { Approval } from '../approvals/approval-store.js';
import { context, escapeMrkdwn, section } from './blocks.js';

export const APPROVE_ACTION = 'runnerops.approve';
export const DENY_ACTION = 'runnerops.deny';

function who(user: string): string {
  return /^[UW][A-Z0-9]+$/.test(user) ? `<@${user}>` : escapeMrkdwn(user);
}

function when(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  return `<!date^${seconds}^{date_short_pretty} {time}|${new Date(ms).toISOString()}>`;
}

function describe(approval: Approval): string {
  const request = approval.request;
  const host = 'host' in request ? request.host : 'target' in request && request.target.kind === 'host' ? request.target.host : 'all hosts';
  return `${who(approval.requester.user)} asks to run \`${escapeMrkdwn(approval.text)}\` on *${escapeMrkdwn(host)}*`;
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

/** The approval message: the request, its expiry and, while pending, Approve / Deny buttons. */
export function approvalBlocks(approval: Approval): { blocks: KnownBlock[]; text: string } {
  const blocks: KnownBlock[] = [section(`:lock: ${describe(approval)}`)];
  if (approval.state === 'pending') {
    blocks.push(context(`Needs someone with the role ${approval.approvers.map((r) => `"${r}"`).join(' or ')} (not the requester). Expires ${when(approval.expiresAt)}.`));
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
            text: { type: 'mrkdwn', text: `This runs \`${escapeMrkdwn(approval.text)}\` now.` },
            confirm: { type: 'plain_text', text: 'Approve' },
            deny: { type: 'plain_text', text: 'Cancel' },
          },
        },
        { type: 'button', action_id: DENY_ACTION, style: 'danger', text: { type: 'plain_text', text: 'Deny' }, value: approval.id },
      ],
    });
  } else {
    const by = approval.decidedBy ? ` by ${who(approval.decidedBy)}` : '';
    const at = approval.decidedAt ? ` ${when(approval.decidedAt)}` : '';
    const reason = approval.reason ? `: ${escapeMrkdwn(approval.reason)}` : '';
    blocks.push(context(`*${STATE_TEXT[approval.state]}*${approval.state === 'expired' ? '' : by}${at}${reason}`));
    if (approval.outcome) blocks.push(section(`\`\`\`${escapeMrkdwn(approval.outcome)}\`\`\``));
  }
  return { blocks, text: `${approval.text}: ${STATE_TEXT[approval.state]}` };
}
