import type { App, BlockButtonAction } from '@slack/bolt';
import type { BotCore } from '../bot/bot-core.js';
import { handleCommandLine } from '../bot/handle-command-line.js';
import { handleDecision } from '../bot/handle-decision.js';
import { APPROVE_ACTION, DENY_ACTION } from '../present/approval-blocks.js';
import { homeBlocks } from './app-home.js';
import { dropRepeatedDeliveries, isFirstDelivery } from './drop-repeated-deliveries.js';
import { REQUEST_ROTATION_ACTION } from '../present/token-expiry-blocks.js';
import { mayApprove } from '../policy/decide.js';
import { DENY_CALLBACK, denyModal, denyRefusedModal, readDenyModal, REASON_BLOCK } from '../present/deny-modal.js';
import type { HomeRefresher } from './home-refresh.js';
import type { Pacer } from './pace-calls.js';
import { withReplyRoute, type ReplyRoute } from './reply-route.js';

/** Only the slash command this app owns. */
export const SLASH_COMMAND = '/runner';

/** How long a Deny submission may take to decide before its ack (Slack waits 3 s for the answer). */
export const SUBMISSION_BUDGET_MS = 2000;

export interface HandlerOptions {
  /** Publishes App Home (and refusal notices on it); without one, Home is published directly. */
  home?: HomeRefresher;
  pacer?: Pacer;
}

/** The way back to whoever clicked: the message's response_url, or their Home tab for a Home click. */
function clickRoute(body: BlockButtonAction): ReplyRoute | undefined {
  if (body.container?.type === 'view' || body.view?.type === 'home') return { kind: 'home', user: body.user.id };
  return body.response_url ? { kind: 'response-url', user: body.user.id, url: body.response_url } : undefined;
}

function routed<T>(route: ReplyRoute | undefined, work: () => Promise<T>): Promise<T> {
  return route ? withReplyRoute(route, work) : work();
}

/**
 * Wires Slack to the bot: every handler acks first (Slack's 3 s deadline), then works. Answers go back
 * the way the request came (see reply-route.ts). Failures end in the log and, where someone waits, a
 * one-line private note; never a stack trace in Slack.
 */
export function registerHandlers(app: App, core: BotCore, options: HandlerOptions = {}): void {
  app.use(dropRepeatedDeliveries(() => core.redis, core.prefix));
  app.command(SLASH_COMMAND, async ({ ack, body, command }) => {
    await ack();
    // A replayed command (the same trigger id) is acked like any other and runs nothing.
    if (!(await isFirstDelivery(core.redis, core.prefix, body as unknown as Record<string, unknown>))) return;
    const route: ReplyRoute | undefined = command.response_url ? { kind: 'response-url', user: command.user_id, url: command.response_url } : undefined;
    await routed(route, () => handleCommandLine(core, command.text, { via: 'slack', user: command.user_id, channel: command.channel_id }));
  });

  app.action<BlockButtonAction>(APPROVE_ACTION, async ({ ack, body, action }) => {
    await ack();
    await routed(clickRoute(body), () => handleDecision(core, 'approve', action.value ?? '', body.user.id, body.channel?.id));
  });

  // Deny asks why first: the modal opens before anything slow (the trigger id lives 3 s); the checks
  // follow, and a refusal replaces the modal's content. The decision is taken when it is submitted.
  app.action<BlockButtonAction>(DENY_ACTION, async ({ ack, body, action, client }) => {
    await ack();
    const approvalId = action.value ?? '';
    const opened = await client.views.open({ trigger_id: body.trigger_id, view: denyModal(approvalId, body.channel?.id, undefined) }).catch((err: unknown) => {
      core.log.warn({ err, approvalId }, 'the Deny dialog did not open');
      return undefined;
    });
    if (!opened) {
      await routed(clickRoute(body), () => core.surface.tell(body.user.id, body.channel?.id, 'Slack did not open the Deny dialog in time; click Deny again'));
      return;
    }
    const viewId = opened.view?.id;
    const refuse = async (reason: string) => {
      if (viewId) await client.views.update({ view_id: viewId, view: denyRefusedModal(reason) });
    };
    const approval = await core.approvals.get(approvalId);
    if (!approval) return refuse(`no approval request "${approvalId}"; it may have been removed`);
    if (approval.state !== 'pending') return refuse(`this request is already ${approval.state}`);
    if (body.user.id !== approval.requester.user) {
      const allowed = await mayApprove(core.policy, approval.request.verb, body.user.id, approval.requester.user, core.members);
      if (!allowed.ok) return refuse(allowed.reason.replace('approving', 'denying'));
    }
    if (viewId) await client.views.update({ view_id: viewId, view: denyModal(approval.id, body.channel?.id, approval.text) });
  });

  // A refused submission keeps the modal open with the reason under the input (response_action: errors).
  app.view(DENY_CALLBACK, async ({ ack, view, body }) => {
    const { approvalId, channel, reason } = readDenyModal(view);
    let refusal: string | undefined;
    const decided = withReplyRoute({ kind: 'collect', user: body.user.id, collect: (text) => void (refusal ??= text) }, () =>
      handleDecision(core, 'deny', approvalId, body.user.id, channel, reason),
    );
    const inTime = await Promise.race([
      decided.then(() => true),
      new Promise<false>((resolve) => setTimeout(() => resolve(false), SUBMISSION_BUDGET_MS).unref()),
    ]).catch(() => true);
    if (inTime && refusal) {
      await ack({ response_action: 'errors', errors: { [REASON_BLOCK]: refusal.slice(0, 150) } });
      return;
    }
    await ack();
    await decided;
    // Decided after the modal closed: the refusal goes to the person the usual way.
    if (refusal) await core.surface.tell(body.user.id, channel, refusal);
  });

  // "Request rotation" on a token-expiry warning: the clicker requests it, as if they had typed it.
  app.action<BlockButtonAction>(REQUEST_ROTATION_ACTION, async ({ ack, body, action }) => {
    await ack();
    await routed(clickRoute(body), () =>
      handleCommandLine(core, action.value ?? '', { via: 'slack', user: body.user.id, ...(body.channel?.id ? { channel: body.channel.id } : {}) }),
    );
  });

  app.event('app_home_opened', async ({ event, client }) => {
    if (event.tab !== 'home') return;
    if (options.home) return options.home.opened(event.user);
    await options.pacer?.wait('views.publish');
    await client.views.publish({ user_id: event.user, view: { type: 'home', blocks: await homeBlocks(core, event.user) } });
  });

  app.error(async (err) => {
    core.log.error({ err: err.original ?? err }, 'slack handler failed');
  });
}
