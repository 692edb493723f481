import type { App, BlockButtonAction } from '@slack/bolt';
import type { BotCore } from '../bot/bot-core.js';
import { handleCommandLine } from '../bot/handle-command-line.js';
import { handleDecision } from '../bot/handle-decision.js';
import { APPROVE_ACTION, DENY_ACTION } from './approval-blocks.js';
import { homeBlocks } from './app-home.js';
import { dropRepeatedDeliveries, isFirstDelivery } from './drop-repeated-deliveries.js';
import { REQUEST_ROTATION_ACTION } from '../bot/token-expiry.js';
import { mayApprove } from '../policy/decide.js';
import { DENY_CALLBACK, denyModal, readDenyModal } from './deny-modal.js';

/** Only the slash command this app owns. */
export const SLASH_COMMAND = '/runner';

/**
 * Wires Slack to the bot: every handler acks first (Slack's 3 s deadline), then works. Failures end in
 * the log and, where someone waits, a one-line private note; never a stack trace in Slack.
 */
export function registerHandlers(app: App, core: BotCore): void {
  app.use(dropRepeatedDeliveries(() => core.redis, core.prefix));
  app.command(SLASH_COMMAND, async ({ ack, body, command }) => {
    await ack();
    // A replayed command (the same trigger id) is acked like any other and runs nothing.
    if (!(await isFirstDelivery(core.redis, core.prefix, body as unknown as Record<string, unknown>))) return;
    await handleCommandLine(core, command.text, { via: 'slack', user: command.user_id, channel: command.channel_id });
  });

  app.action<BlockButtonAction>(APPROVE_ACTION, async ({ ack, body, action }) => {
    await ack();
    await handleDecision(core, 'approve', action.value ?? '', body.user.id, body.channel?.id);
  });

  // Deny asks why first (a modal); the decision is taken when the modal is submitted.
  app.action<BlockButtonAction>(DENY_ACTION, async ({ ack, body, action, client }) => {
    await ack();
    const approval = await core.approvals.get(action.value ?? '');
    if (!approval || approval.state !== 'pending') {
      await handleDecision(core, 'deny', action.value ?? '', body.user.id, body.channel?.id);
      return;
    }
    if (body.user.id !== approval.requester.user) {
      const allowed = await mayApprove(core.policy, approval.request.verb, body.user.id, approval.requester.user, core.members);
      if (!allowed.ok) {
        await core.surface.tell(body.user.id, body.channel?.id, allowed.reason.replace('approving', 'denying'));
        return;
      }
    }
    await client.views.open({ trigger_id: body.trigger_id, view: denyModal(approval.id, body.channel?.id, approval.text) });
  });

  app.view(DENY_CALLBACK, async ({ ack, view, body }) => {
    await ack();
    const { approvalId, channel, reason } = readDenyModal(view);
    await handleDecision(core, 'deny', approvalId, body.user.id, channel, reason);
  });

  // "Request rotation" on a token-expiry warning: the clicker requests it, as if they had typed it.
  app.action<BlockButtonAction>(REQUEST_ROTATION_ACTION, async ({ ack, body, action }) => {
    await ack();
    await handleCommandLine(core, action.value ?? '', { via: 'slack', user: body.user.id, ...(body.channel?.id ? { channel: body.channel.id } : {}) });
  });

  app.event('app_home_opened', async ({ event, client }) => {
    if (event.tab !== 'home') return;
    await client.views.publish({ user_id: event.user, view: { type: 'home', blocks: await homeBlocks(core, event.user) } });
  });

  app.error(async (err) => {
    core.log.error({ err: err.original ?? err }, 'slack handler failed');
  });
}
