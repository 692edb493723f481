import type { WebClient } from '@slack/web-api';
import type { Approval } from '../approvals/approval-store.js';
import type { Surface } from '../bot/surface.js';
import type { Logger } from '../logger.js';
import type { ApprovalStore } from '../approvals/approval-store.js';
import type { Redis } from 'ioredis';
import { approvalBlocks } from './approval-blocks.js';
import { expiryWarningBlocks } from '../bot/token-expiry.js';
import { cardBlocks } from './card-blocks.js';
import { codeSections, fallback, LIMITS } from './blocks.js';

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
  const { client } = deps;
  return reportingErrors(createSurface(deps, client), deps.onApiError);
}

function createSurface(deps: SlackSurfaceDeps, client: WebClient): Surface {
  return {
    async postCard(_command, card, channel) {
      if (!channel) return undefined;
      const { blocks, text } = cardBlocks(card);
      const posted = await client.chat.postMessage({ channel, text, blocks });
      return { channel: posted.channel ?? channel, ts: posted.ts! };
    },
    async updateCard(command, card) {
      if (!command.card) return;
      const { blocks, text, overflow } = cardBlocks(card);
      await client.chat.update({ channel: command.card.channel, ts: command.card.ts, text, blocks });
      if (card.finished && overflow.length > 0) {
        for (let i = 0; i < overflow.length; i += 400) {
          const chunk = codeSections(overflow.slice(i, i + 400).join('\n')).slice(0, LIMITS.blocksPerMessage);
          await client.chat.postMessage({ channel: command.card.channel, thread_ts: command.card.ts, text: `rows ${i + 1}-${Math.min(i + 400, overflow.length)} of the overflow`, blocks: chunk });
        }
      }
    },
    async postApproval(approval: Approval, channel) {
      if (!channel) return undefined;
      const { blocks, text } = approvalBlocks(approval);
      const posted = await client.chat.postMessage({ channel, text, blocks });
      const location = { channel: posted.channel ?? channel, ts: posted.ts! };
      await deps.approvals.setMessage(approval.id, location);
      return location;
    },
    async updateApproval(approval) {
      const current = approval.message ? approval : await deps.approvals.get(approval.id);
      const message = current?.message;
      if (!message) return;
      const { blocks, text } = approvalBlocks({ ...approval, message });
      await client.chat.update({ channel: message.channel, ts: message.ts, text, blocks });
    },
    async tell(user, channel, text) {
      if (!channel) return;
      // Long answers go out as several private messages, never cut short.
      const blocks = codeSections(text);
      for (let i = 0; i < blocks.length; i += LIMITS.blocksPerMessage) {
        const part = blocks.slice(i, i + LIMITS.blocksPerMessage);
        const label = blocks.length > LIMITS.blocksPerMessage ? ` (part ${i / LIMITS.blocksPerMessage + 1} of ${Math.ceil(blocks.length / LIMITS.blocksPerMessage)})` : '';
        await client.chat.postEphemeral({ channel, user, text: `${fallback(text)}${label}`, blocks: part });
      }
    },
    async postExpiryWarning(channel, tokens, now) {
      const target = channel ?? deps.reportsChannel;
      if (!target) {
        deps.log.warn('token expiry warning not posted: set channels.reports in the policy file');
        return;
      }
      await client.chat.postMessage({ channel: target, ...expiryWarningBlocks(tokens, now) });
    },
    async post(channel, text, attachment) {
      const target = channel ?? deps.reportsChannel;
      if (!target) {
        deps.log.warn('no channel for a report: set channels.reports in the policy file');
        return;
      }
      const blocks = codeSections(text);
      if (blocks.length <= LIMITS.blocksPerMessage && !attachment) {
        await client.chat.postMessage({ channel: target, text: fallback(text), blocks });
        return;
      }
      const files = [
        ...(blocks.length > LIMITS.blocksPerMessage ? [{ file: Buffer.from(text), filename: 'report.txt', title: fallback(text) }] : []),
        ...(attachment ? [{ file: attachment.bytes, filename: attachment.filename, title: attachment.title }] : []),
      ];
      await client.filesUploadV2({ channel_id: target, initial_comment: blocks.length <= LIMITS.blocksPerMessage ? text : fallback(text), file_uploads: files });
    },
  };
}
