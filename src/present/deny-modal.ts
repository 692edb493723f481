import type { ModalView } from '@slack/types';
import { LIMITS } from './blocks.js';
import { fit, inlineCode, md } from './mrkdwn.js';

export const DENY_CALLBACK = 'runnerops.deny-reason';
export const REASON_BLOCK = 'reason';
export const REASON_ACTION = 'reason';

/** What the modal carries back on submission; ids only, well within private_metadata's 3,000 characters. */
function metadata(approvalId: string, channel: string | undefined): string {
  return JSON.stringify({ approvalId: approvalId.slice(0, 100), ...(channel ? { channel: channel.slice(0, 40) } : {}) });
}

/**
 * The modal a Deny click opens at once (a trigger id lives 3 s, so before any Redis or Slack lookup):
 * the request and an optional one-line reason. `text` is the request as typed, when known.
 */
export function denyModal(approvalId: string, channel: string | undefined, text: string | undefined): ModalView {
  const what = text ? md`Deny ${inlineCode(text)}?` : md`Deny request ${inlineCode(approvalId)}?`;
  return {
    type: 'modal',
    callback_id: DENY_CALLBACK,
    private_metadata: metadata(approvalId, channel),
    title: { type: 'plain_text', text: 'Deny request' },
    submit: { type: 'plain_text', text: 'Deny' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: fit(what, LIMITS.sectionText).text } },
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

/** The same modal once the click was refused: why, and only a Close button. */
export function denyRefusedModal(reason: string): ModalView {
  return {
    type: 'modal',
    callback_id: DENY_CALLBACK,
    title: { type: 'plain_text', text: 'Deny request' },
    close: { type: 'plain_text', text: 'Close' },
    blocks: [{ type: 'section', text: { type: 'mrkdwn', text: fit(md`:no_entry: ${reason}`, LIMITS.sectionText).text } }],
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
