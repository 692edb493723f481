import type { ModalView } from '@slack/types';

export const DENY_CALLBACK = 'runnerops.deny-reason';
export const REASON_BLOCK = 'reason';
export const REASON_ACTION = 'reason';

/** The modal a Deny click opens: an optional one-line reason, recorded with the decision. */
export function denyModal(approvalId: string, channel: string | undefined, text: string): ModalView {
  return {
    type: 'modal',
    callback_id: DENY_CALLBACK,
    private_metadata: JSON.stringify({ approvalId, channel }),
    title: { type: 'plain_text', text: 'Deny request' },
    submit: { type: 'plain_text', text: 'Deny' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: `Deny \`${text.replace(/`/g, "'").slice(0, 200)}\`?` } },
      {
        type: 'input',
        block_id: REASON_BLOCK,
        optional: true,
        label: { type: 'plain_text', text: 'Why (shown to the requester and kept in the audit log)' },
        element: { type: 'plain_text_input', action_id: REASON_ACTION, max_length: 300 },
      },
    ],
  };
}

/** Reads the approval id, channel and reason back from a submitted deny modal. */
export function readDenyModal(view: { private_metadata?: string; state?: { values?: Record<string, Record<string, { value?: string | null }>> } }): {
  approvalId: string;
  channel: string | undefined;
  reason: string | undefined;
} {
  let meta: { approvalId?: unknown; channel?: unknown } = {};
  try {
    const parsed: unknown = JSON.parse(view.private_metadata ?? '{}');
    if (parsed !== null && typeof parsed === 'object') meta = parsed as typeof meta;
  } catch {
    // a view we did not open: treated as an unknown approval below
  }
  const reason = view.state?.values?.[REASON_BLOCK]?.[REASON_ACTION]?.value ?? undefined;
  return {
    approvalId: typeof meta.approvalId === 'string' ? meta.approvalId : '',
    channel: typeof meta.channel === 'string' ? meta.channel : undefined,
    reason: reason ?? undefined,
  };
}
