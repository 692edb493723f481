import { randomBytes } from 'node:crypto';
import { checkBlocks, describeBlockProblems } from './check-blocks.js';
import { fail, jsonArg, stringArg, type MethodSpec } from './method-helpers.js';
import { resolveUser } from './state.js';

/** A Home tab holds at most 100 blocks. */
export const MAX_VIEW_BLOCKS = 100;

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Slack's trigger ids are short-lived; the fake accepts any well-formed one it has not seen used. */
const TRIGGER_ID = /^\d+\.\d+\.[0-9a-f]+$/;

/** views.publish: the App Home of one user, with Slack's `hash` check against concurrent publishes. */
export const viewMethods: Record<string, MethodSpec> = {
  'views.open': {
    token: 'bot',
    handle(params, { state }) {
      const trigger = stringArg(params, 'trigger_id');
      if (!trigger || !TRIGGER_ID.test(trigger)) return fail('invalid_trigger_id');
      const parsed = jsonArg(params, 'view');
      if (!parsed.present || !parsed.ok || !isRecord(parsed.value)) return fail('invalid_arguments', ['[ERROR] must provide an object [json-pointer:/view]']);
      const view = parsed.value;
      if (view.type !== 'modal') return fail('invalid_arguments', ['[ERROR] must be modal [json-pointer:/view/type]']);
      if (!isRecord(view.title)) return fail('invalid_arguments', ['[ERROR] missing required field: title [json-pointer:/view]']);
      const problems = checkBlocks(view.blocks, MAX_VIEW_BLOCKS, '/view/blocks');
      if (problems.length > 0) return fail('invalid_arguments', describeBlockProblems(problems));
      return { ok: true, view: { ...view, id: state.nextId('V'), team_id: state.identity.teamId, app_id: state.identity.appId, hash: randomBytes(4).toString('hex') } };
    },
  },
  'views.publish': {
    token: 'bot',
    handle(params, { state }) {
      const user = resolveUser(state, stringArg(params, 'user_id'));
      if (!user) return fail('user_not_found');
      const parsed = jsonArg(params, 'view');
      if (!parsed.present || !parsed.ok || !isRecord(parsed.value)) return fail('invalid_arguments', ['[ERROR] must provide an object [json-pointer:/view]']);
      const view = parsed.value;
      if (view.type !== 'home') return fail('invalid_arguments', ['[ERROR] must be home [json-pointer:/view/type]']);
      const problems = checkBlocks(view.blocks, MAX_VIEW_BLOCKS, '/view/blocks');
      if (problems.length > 0) return fail('invalid_arguments', describeBlockProblems(problems));

      const current = state.homeViews.get(user.id);
      const hash = stringArg(params, 'hash');
      if (hash !== undefined && current && current.view.hash !== hash) return fail('hash_conflict');

      const blocks = view.blocks as unknown[];
      const published: Record<string, unknown> = {
        id: typeof current?.view.id === 'string' ? current.view.id : state.nextId('V'),
        team_id: state.identity.teamId,
        type: 'home',
        blocks,
        private_metadata: typeof view.private_metadata === 'string' ? view.private_metadata : '',
        callback_id: typeof view.callback_id === 'string' ? view.callback_id : '',
        state: { values: {} },
        hash: `${Math.floor(Date.now() / 1000)}.${randomBytes(4).toString('hex')}`,
        clear_on_close: false,
        notify_on_close: false,
        root_view_id: null,
        app_id: state.identity.appId,
        external_id: typeof view.external_id === 'string' ? view.external_id : '',
        bot_id: state.identity.botId,
      };
      published.root_view_id = published.id;
      state.homeViews.set(user.id, {
        user_id: user.id,
        view: published,
        blocks,
        publishedAt: Date.now(),
        publishCount: (current?.publishCount ?? 0) + 1,
      });
      return { ok: true, view: published };
    },
  },
};
