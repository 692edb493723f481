import { fail, stringArg, type MethodSpec } from './method-helpers.js';
import { openDirectMessage, resolveChannel, resolveUser, type FakeChannel, type FakeUser, type SlackState } from './state.js';

function describeUser(state: SlackState, user: FakeUser): Record<string, unknown> {
  const realName = user.real_name ?? user.name;
  return {
    id: user.id,
    team_id: state.identity.teamId,
    name: user.name,
    deleted: user.deleted ?? false,
    real_name: realName,
    tz: user.tz ?? 'Europe/Berlin',
    is_admin: user.is_admin ?? false,
    is_owner: false,
    is_bot: user.is_bot ?? false,
    is_app_user: false,
    profile: { real_name: realName, display_name: user.name, team: state.identity.teamId },
  };
}

function describeChannel(channel: FakeChannel): Record<string, unknown> {
  if (channel.is_im) {
    return { id: channel.id, is_im: true, user: channel.user, created: 1_700_000_000, is_user_deleted: false };
  }
  return {
    id: channel.id,
    name: channel.name,
    is_channel: !channel.is_private,
    is_group: false,
    is_im: false,
    is_private: channel.is_private ?? false,
    is_archived: false,
    is_general: false,
    is_member: true,
    created: 1_700_000_000,
  };
}

/** auth.test, users.info, conversations.info, conversations.open, usergroups.users.list. */
export const directoryMethods: Record<string, MethodSpec> = {
  'auth.test': {
    token: 'bot',
    handle(_params, { state }) {
      const { identity } = state;
      return {
        ok: true,
        url: `https://${identity.teamDomain}.slack.com/`,
        team: identity.teamName,
        user: identity.botName,
        team_id: identity.teamId,
        user_id: identity.botUserId,
        bot_id: identity.botId,
        is_enterprise_install: false,
      };
    },
  },
  'users.info': {
    token: 'bot',
    handle(params, { state }) {
      const user = resolveUser(state, stringArg(params, 'user'));
      return user ? { ok: true, user: describeUser(state, user) } : fail('user_not_found');
    },
  },
  'conversations.info': {
    token: 'bot',
    handle(params, { state }) {
      const id = stringArg(params, 'channel');
      // conversations.info takes an id, never a name or a user.
      const channel = id !== undefined && /^[CGD]/.test(id) ? resolveChannel(state, id) : undefined;
      return channel ? { ok: true, channel: describeChannel(channel) } : fail('channel_not_found');
    },
  },
  'conversations.open': {
    token: 'bot',
    handle(params, { state }) {
      const users = stringArg(params, 'users');
      if (users === undefined) return fail('users_list_not_supplied');
      const ids = users.split(',').map((u) => u.trim());
      if (ids.length !== 1) return fail('not_enough_users');
      const user = resolveUser(state, ids[0]);
      if (!user) return fail('user_not_found');
      return { ok: true, channel: { id: openDirectMessage(state, user.id).id } };
    },
  },
  'usergroups.users.list': {
    token: 'bot',
    handle(params, { state }) {
      const group = stringArg(params, 'usergroup');
      if (group === undefined) return fail('invalid_arguments');
      const members = state.usergroups.get(group);
      return members ? { ok: true, users: [...members] } : fail('no_such_subteam');
    },
  },
};
