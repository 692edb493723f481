import type { Approval } from '../approvals/approval-store.js';
import type { CardText } from '../present/command-card.js';
import type { CommandRecord } from '../queue/command-record.js';
import type { ExpiringToken } from '../present/token-expiry.js';

/**
 * Where the bot shows things: Slack (messages, ephemerals) or the local console of `runnerops dev`.
 * Everything else in the bot is the same for both.
 */
export interface Surface {
  /** Posts a new job card where the command came from (or to `channel`); returns its location. */
  postCard: (command: CommandRecord, card: CardText, channel: string | undefined) => Promise<{ channel: string; ts: string } | undefined>;
  /** Replaces the card's content. `overflow` rows that did not fit go to the thread once `card.finished`. */
  updateCard: (command: CommandRecord, card: CardText) => Promise<void>;
  /** Posts an approval request with its buttons; returns its location. */
  postApproval: (approval: Approval, channel: string | undefined) => Promise<{ channel: string; ts: string } | undefined>;
  /** Redraws an approval message after a decision, expiry or result. */
  updateApproval: (approval: Approval) => Promise<void>;
  /** A short private note to one person (Slack ephemeral; console line). */
  tell: (user: string, channel: string | undefined, text: string) => Promise<void>;
  /** The token-expiry warning; in Slack each token gets a "Request rotation" button. */
  postExpiryWarning: (channel: string | undefined, tokens: ExpiringToken[], now: number) => Promise<void>;
  /** A plain report message in a channel (scheduled reports, watch notices). */
  post: (channel: string | undefined, text: string, attachment?: { filename: string; bytes: Buffer; title: string }) => Promise<void>;
}
