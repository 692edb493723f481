import type { KnownBlock } from '@slack/types';
import type { WebClient } from '@slack/web-api';
import type { Approval } from '../approvals/approval-store.js';
import type { Surface } from '../bot/surface.js';
import type { CardText } from '../present/command-card.js';
import type { Logger } from '../logger.js';
import type { ApprovalStore } from '../approvals/approval-store.js';
import type { Redis } from 'ioredis';
import { approvalBlocks } from '../present/approval-blocks.js';
import { expiryWarningBlocks } from '../present/token-expiry-blocks.js';
import { cardBlocks } from '../present/command-card-blocks.js';
import { codeSections, LIMITS } from '../present/blocks.js';
import { messageParts, tooLongNote } from '../present/message-parts.js';
import type { HomeRefresher } from './home-refresh.js';
import { escapeText, fallbackText, fitPlain } from '../present/mrkdwn.js';
import type { Pacer } from './pace-calls.js';
import { postToResponseUrl, RESPONSE_URL_POSTS } from './respond.js';
import { replyRouteFor } from './reply-route.js';
import { cannotPostLine, cannotPostThere, slackErrorCode } from './slack-errors.js';

export interface SlackSurfaceDeps {
  client: WebClient;
  redis: Redis;
  prefix: string;
  approvals: ApprovalStore;
  log: Logger;
  /** Where reports go when no channel is given (policy channels.reports). */
  reportsChannel?: string;
  /** Told about every failed Web API call (metrics count them by kind); the error is rethrown. */
  onApiError?: (err: unknown) => void;
  /** Paces chat.update (and the Home's views.publish) by the workspace's method tier. @defaultValue no pacing */
  pacer?: Pacer;
  /** Republishes App Home for recent viewers when jobs or approvals change; shows refusals of Home clicks. */
  home?: HomeRefresher;
}

/** Wraps every method of a surface so failures are reported once and still reach the caller. */
function reportingErrors(surface: Surface, onError: ((err: unknown) => void) | undefined): Surface {
  if (!onError) return surface;
  const wrapped = {} as Record<string, unknown>;
  for (const [name, method] of Object.entries(surface) as [string, (...args: unknown[]) => Promise<unknown>][]) {
    wrapped[name] = async (...args: unknown[]) => {
      try {
        return await method(...args);
      } catch (err) {
        onError(err);
        throw err;
      }
    };
  }
  return wrapped as unknown as Surface;
}

/** The Surface for Slack: messages, in-place updates, thread replies for overflow, files for long output. */
export function createSlackSurface(deps: SlackSurfaceDeps): Surface {
  return reportingErrors(createSurface(deps), deps.onApiError);
}

/** A card update waiting for its chat.update slot; `card` is the newest content asked for meanwhile. */
interface WaitingCard {
  card: CardText;
  sent: Promise<void>;
}

function createSurface(deps: SlackSurfaceDeps): Surface {
  const { client } = deps;
  const waitingCards = new Map<string, WaitingCard>();
  const sendingCards = new Map<string, Promise<void>>();
  const pace = async (method: string) => deps.pacer?.wait(method);
  const homeChanged = () => deps.home?.changed();

  /** Private answer through chat.postEphemeral (needs the bot in the conversation). */
  const ephemeral = async (user: string, channel: string, text: string) => {
    for (const part of messageParts(text, codeSections(text))) await client.chat.postEphemeral({ channel, user, ...part });
  };

  /**
   * A private answer to one person: through the response_url of the request being handled (works in DMs
   * and channels the bot is not in), on their Home tab for a Home click, else as an ephemeral message.
   */
  const tell: Surface['tell'] = async (user, channel, text) => {
    const route = replyRouteFor(user);
    if (route?.kind === 'collect') return route.collect(text);
    if (route?.kind === 'home') {
      if (deps.home) return deps.home.publish(user, text);
    }
    if (route?.kind === 'response-url') {
      const parts = messageParts(text, codeSections(text));
      // A response_url takes 5 posts: an answer longer than that says so in its last part instead of stopping short.
      const shown = parts.length > RESPONSE_URL_POSTS ? [...parts.slice(0, RESPONSE_URL_POSTS - 1), tooLongNote(parts.length - RESPONSE_URL_POSTS + 1)] : parts;
      try {
        for (const part of shown) await postToResponseUrl(route.url, part);
        return;
      } catch (err) {
        deps.log.info({ err: String(err) }, 'response_url did not take the answer; trying chat.postEphemeral');
      }
    }
    if (!channel) return;
    try {
      await ephemeral(user, channel, text);
    } catch (err) {
      if (!cannotPostThere(err)) throw err;
      deps.log.warn({ user, channel, error: slackErrorCode(err) }, 'could not answer privately: the bot cannot post in that conversation');
    }
  };

  /** Posts a message; where the bot cannot post, tells `requester` in one line instead and returns undefined. */
  const postWhereAllowed = async (
    channel: string,
    message: { text: string; blocks: KnownBlock[] },
    requester: { user: string; channel: string | undefined } | undefined,
    what: string,
  ) => {
    try {
      const posted = await client.chat.postMessage({ channel, ...message });
      return { channel: posted.channel ?? channel, ts: posted.ts! };
    } catch (err) {
      if (!cannotPostThere(err)) throw err;
      const label = channel === requester?.channel ? 'this channel' : `channel ${channel}`;
      const line = cannotPostLine(what, { channel, label }, slackErrorCode(err));
      deps.log.warn({ channel, error: slackErrorCode(err) }, line);
      if (requester) await tell(requester.user, requester.channel, line);
      return undefined;
    }
  };

  return {
    async postCard(command, card, channel) {
      if (!channel) return undefined;
      const { blocks, text } = cardBlocks(card);
      const where = await postWhereAllowed(
        channel,
        { text, blocks },
        { user: command.requester.user, channel: command.requester.channel },
        `the card of job ${command.id} (it runs anyway; /runner job ${command.id} shows it)`,
      );
      homeChanged();
      return where;
    },
    async updateCard(command, card) {
      if (card.finished) homeChanged();
      const location = command.card;
      if (!location) return;
      // While an update waits for its slot, a newer one for the same card replaces it: only the latest is sent.
      const key = `${location.channel}:${location.ts}`;
      const waiting = waitingCards.get(key);
      if (waiting) {
        waiting.card = card;
        return waiting.sent;
      }
      const entry: WaitingCard = { card, sent: Promise.resolve() };
      const before = sendingCards.get(key);
      entry.sent = (async () => {
        try {
          await pace('chat.update');
        } finally {
          waitingCards.delete(key);
        }
        // Never overtake the previous update of this card: Slack keeps whichever arrives last.
        await before?.catch(() => undefined);
        const { blocks, text, overflow, totalRest } = cardBlocks(entry.card);
        await client.chat.update({ channel: location.channel, ts: location.ts, text, blocks });
        if (entry.card.finished && overflow.length > 0) {
          for (let i = 0; i < overflow.length; i += 400) {
            const chunk = codeSections(overflow.slice(i, i + 400).join('\n')).slice(0, LIMITS.blocksPerMessage);
            await client.chat.postMessage({
              channel: location.channel,
              thread_ts: location.ts,
              text: `rows ${i + 1}-${Math.min(i + 400, overflow.length)} of the overflow`,
              blocks: chunk,
            });
          }
        }
        if (entry.card.finished && totalRest.length > 0) {
          for (let i = 0; i < totalRest.length; i += LIMITS.blocksPerMessage) {
            const part = `part ${i / LIMITS.blocksPerMessage + 2} of the report of job ${command.id}`;
            await client.chat.postMessage({
              channel: location.channel,
              thread_ts: location.ts,
              text: fallbackText(part),
              blocks: totalRest.slice(i, i + LIMITS.blocksPerMessage),
            });
          }
        }
      })();
      waitingCards.set(key, entry);
      sendingCards.set(key, entry.sent);
      void entry.sent
        .finally(() => {
          if (sendingCards.get(key) === entry.sent) sendingCards.delete(key);
        })
        .catch(() => undefined);
      return entry.sent;
    },
    async postApproval(approval: Approval, channel) {
      homeChanged();
      if (!channel) return undefined;
      const { blocks, text } = approvalBlocks(approval);
      const requester = { user: approval.requester.user, channel: approval.requester.channel };
      const location = await postWhereAllowed(
        channel,
        { text, blocks },
        requester,
        `approval request ${approval.id} (approvers also find it on the runnerops Home tab)`,
      );
      if (location) await deps.approvals.setMessage(approval.id, location);
      return location;
    },
    async updateApproval(approval) {
      homeChanged();
      const current = approval.message ? approval : await deps.approvals.get(approval.id);
      const message = current?.message;
      if (!message) return;
      const { blocks, text } = approvalBlocks({ ...approval, message });
      await pace('chat.update');
      await client.chat.update({ channel: message.channel, ts: message.ts, text, blocks });
    },
    tell,
    async postExpiryWarning(channel, tokens, now) {
      const target = channel ?? deps.reportsChannel;
      if (!target) {
        deps.log.warn('token expiry warning not posted: set channels.reports in the policy file');
        return;
      }
      // Nobody waits for a scheduled warning: where the bot cannot post, the log says what to invite.
      await postWhereAllowed(target, expiryWarningBlocks(tokens, now), undefined, 'the token expiry warning');
    },
    async post(channel, text, attachment) {
      const target = channel ?? deps.reportsChannel;
      if (!target) {
        deps.log.warn('no channel for a report: set channels.reports in the policy file');
        return;
      }
      const blocks = codeSections(text);
      if (blocks.length <= LIMITS.blocksPerMessage && !attachment) {
        await postWhereAllowed(target, { text: fallbackText(text), blocks }, undefined, 'a report');
        return;
      }
      // A file's comment is a message without blocks: escaped text within Slack's message text limit.
      const inComment = escapeText(text).length <= LIMITS.messageText;
      const files = [
        ...(inComment ? [] : [{ file: Buffer.from(text), filename: 'report.txt', title: fitPlain(text.split('\n', 1)[0] ?? 'report', 200) }]),
        ...(attachment ? [{ file: attachment.bytes, filename: attachment.filename, title: attachment.title }] : []),
      ];
      const comment = inComment ? escapeText(text).text : fallbackText(text);
      try {
        await client.filesUploadV2({ channel_id: target, initial_comment: comment, file_uploads: files });
      } catch (err) {
        if (!cannotPostThere(err)) throw err;
        deps.log.warn(
          { channel: target, error: slackErrorCode(err) },
          cannotPostLine('a report', { channel: target, label: `channel ${target}` }, slackErrorCode(err)),
        );
      }
    },
  };
}
