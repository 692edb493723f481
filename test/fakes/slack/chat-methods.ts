import { blocksArg, fail, isTs, jsonArg, stringArg, type MethodResult, type MethodSpec } from './method-helpers.js';
import { messageSequences } from './mrkdwn-syntax.js';
import { postingRefusal, resolveChannel, resolveUser, type FakeMessage, type SlackState } from './state.js';

/** Slack cuts a message's text at 40,000 characters. */
export const MAX_MESSAGE_TEXT = 40_000;
/** A message holds at most 50 blocks. */
export const MAX_MESSAGE_BLOCKS = 50;

function cutText(text: string | undefined): { text: string; truncated: boolean } {
  const value = text ?? '';
  return value.length > MAX_MESSAGE_TEXT ? { text: value.slice(0, MAX_MESSAGE_TEXT), truncated: true } : { text: value, truncated: false };
}

function arrayArg(params: Record<string, unknown>, name: string): { value?: unknown[]; error?: MethodResult } {
  const parsed = jsonArg(params, name);
  if (!parsed.present) return {};
  if (!parsed.ok || !Array.isArray(parsed.value)) return { error: fail(`invalid_${name}`) };
  return { value: parsed.value };
}

/** The message object Slack returns in chat.postMessage / chat.update answers. */
export function describeMessage(state: SlackState, message: FakeMessage): Record<string, unknown> {
  const { identity } = state;
  const isBot = message.user === identity.botUserId;
  return {
    type: 'message',
    text: message.text,
    user: message.user,
    ts: message.ts,
    team: identity.teamId,
    ...(isBot
      ? {
          bot_id: identity.botId,
          app_id: identity.appId,
          bot_profile: { id: identity.botId, app_id: identity.appId, name: identity.botName, team_id: identity.teamId },
        }
      : {}),
    ...(message.blocks ? { blocks: message.blocks } : {}),
    ...(message.attachments ? { attachments: message.attachments } : {}),
    ...(message.thread_ts ? { thread_ts: message.thread_ts } : {}),
    ...(message.metadata !== undefined ? { metadata: message.metadata } : {}),
    ...(message.updates.length > 0 ? { edited: { user: message.user, ts: message.ts } } : {}),
  };
}

const postMessage: MethodSpec = {
  token: 'bot',
  handle(params, { state }) {
    const channel = resolveChannel(state, stringArg(params, 'channel'));
    if (!channel) return fail('channel_not_found');
    const refused = postingRefusal(state, channel, true);
    if (refused) return fail(refused);
    const { blocks, error } = blocksArg(params, MAX_MESSAGE_BLOCKS);
    if (error) return error;
    const attachments = arrayArg(params, 'attachments');
    if (attachments.error) return attachments.error;
    const rawText = stringArg(params, 'text');
    if (rawText === undefined && !blocks?.length && !attachments.value?.length) return fail('no_text');
    const threadTs = stringArg(params, 'thread_ts');
    if (threadTs !== undefined && !isTs(threadTs)) return fail('invalid_thread_ts');
    const metadata = jsonArg(params, 'metadata');
    if (metadata.present && !metadata.ok) return fail('invalid_metadata_format');

    const { text, truncated } = cutText(rawText);
    const message: FakeMessage = {
      channel: channel.id,
      ts: state.nextTs(),
      text,
      ...(blocks ? { blocks } : {}),
      ...(attachments.value ? { attachments: attachments.value } : {}),
      ...(threadTs ? { thread_ts: threadTs } : {}),
      ...(metadata.present && metadata.ok ? { metadata: metadata.value } : {}),
      user: state.identity.botUserId,
      bot_id: state.identity.botId,
      truncated,
      sequences: messageSequences(text, blocks),
      updates: [],
      postedAt: Date.now(),
    };
    state.messages.push(message);
    return { ok: true, channel: channel.id, ts: message.ts, message: describeMessage(state, message) };
  },
};

const update: MethodSpec = {
  token: 'bot',
  handle(params, { state }) {
    const channel = resolveChannel(state, stringArg(params, 'channel'));
    if (!channel) return fail('channel_not_found');
    const ts = stringArg(params, 'ts');
    const message = ts === undefined ? undefined : state.messages.find((m) => m.channel === channel.id && m.ts === ts);
    if (!message) return fail('message_not_found');
    if (message.user !== state.identity.botUserId) return fail('cant_update_message');
    const { blocks, error } = blocksArg(params, MAX_MESSAGE_BLOCKS);
    if (error) return error;
    const attachments = arrayArg(params, 'attachments');
    if (attachments.error) return attachments.error;
    const rawText = stringArg(params, 'text');
    if (rawText === undefined && blocks === undefined && attachments.value === undefined) return fail('no_text');

    // Documented rules: new blocks replace the old ones; text without blocks drops the old blocks.
    if (blocks !== undefined) {
      if (blocks.length > 0) message.blocks = blocks;
      else delete message.blocks;
    } else if (rawText !== undefined) {
      delete message.blocks;
    }
    if (attachments.value !== undefined) message.attachments = attachments.value;
    if (rawText !== undefined) {
      const { text, truncated } = cutText(rawText);
      message.text = text;
      message.truncated = truncated;
    }
    message.sequences = messageSequences(message.text, message.blocks);
    message.updates.push({ text: message.text, ...(message.blocks ? { blocks: message.blocks } : {}), at: Date.now() });
    return {
      ok: true,
      channel: channel.id,
      ts: message.ts,
      text: message.text,
      message: describeMessage(state, message),
    };
  },
};

const postEphemeral: MethodSpec = {
  token: 'bot',
  handle(params, { state }) {
    const channel = resolveChannel(state, stringArg(params, 'channel'));
    if (!channel) return fail('channel_not_found');
    // An ephemeral needs the bot in the conversation (chat:write.public does not cover it) and the person too.
    const refused = postingRefusal(state, channel, false);
    if (refused) return fail(refused);
    const user = resolveUser(state, stringArg(params, 'user'));
    if (!user) return fail('user_not_found');
    if (channel.members && !channel.members.includes(user.id)) return fail('user_not_in_channel');
    const { blocks, error } = blocksArg(params, MAX_MESSAGE_BLOCKS);
    if (error) return error;
    const rawText = stringArg(params, 'text');
    if (rawText === undefined && !blocks?.length) return fail('no_text');
    const threadTs = stringArg(params, 'thread_ts');
    if (threadTs !== undefined && !isTs(threadTs)) return fail('invalid_thread_ts');
    const messageTs = state.nextTs();
    const shownText = cutText(rawText).text;
    state.ephemerals.push({
      channel: channel.id,
      user: user.id,
      text: shownText,
      sequences: messageSequences(shownText, blocks),
      ...(blocks ? { blocks } : {}),
      ...(threadTs ? { thread_ts: threadTs } : {}),
      message_ts: messageTs,
      at: Date.now(),
    });
    return { ok: true, message_ts: messageTs };
  },
};

/** chat.postMessage, chat.update and chat.postEphemeral. */
export const chatMethods: Record<string, MethodSpec> = {
  'chat.postMessage': postMessage,
  'chat.update': update,
  'chat.postEphemeral': postEphemeral,
};
