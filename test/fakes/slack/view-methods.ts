import { randomBytes } from 'node:crypto';
import { checkBlocks, describeBlockProblems, type BlockProblem } from './check-blocks.js';
import { fail, jsonArg, stringArg, type MethodResult, type MethodSpec } from './method-helpers.js';
import { mrkdwnTexts, controlSequences } from './mrkdwn-syntax.js';
import { resolveUser, type SlackState } from './state.js';

/** A Home tab or a modal holds at most 100 blocks. */
export const MAX_VIEW_BLOCKS = 100;
/** A view's JSON may be at most 250 kB. */
export const MAX_VIEW_BYTES = 250_000;

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Slack's trigger ids are short-lived; the fake accepts any well-formed one. */
const TRIGGER_ID = /^\d+\.\d+\.[0-9a-f]+$/;

function plainText(problems: BlockProblem[], value: unknown, pointer: string, max: number, required: boolean): void {
  if (value === undefined) {
    if (required) problems.push({ pointer, message: 'missing required field' });
    return;
  }
  if (!isRecord(value) || value.type !== 'plain_text' || typeof value.text !== 'string' || value.text.length === 0) {
    problems.push({ pointer, message: 'must be a plain_text object with text' });
  } else if (value.text.length > max) {
    problems.push({ pointer: `${pointer}/text`, message: `must be less than ${max + 1} characters` });
  }
}

function stringField(problems: BlockProblem[], value: unknown, pointer: string, max: number): void {
  if (value === undefined) return;
  if (typeof value !== 'string') problems.push({ pointer, message: 'must be a string' });
  else if (value.length > max) problems.push({ pointer, message: `must be less than ${max + 1} characters` });
}

/**
 * A view's documented limits: modal `title`, `submit`, `close` at most 24 characters (title required,
 * submit required when an input block is present), `private_metadata` 3,000, `callback_id` and
 * `external_id` 255, at most 100 blocks, 250 kB of JSON, input labels 2,000 characters.
 */
export function checkView(view: Record<string, unknown>, type: 'modal' | 'home'): BlockProblem[] {
  const problems: BlockProblem[] = [];
  if (view.type !== type) return [{ pointer: '/view/type', message: `must be ${type}` }];
  if (type === 'modal') {
    plainText(problems, view.title, '/view/title', 24, true);
    const hasInput = Array.isArray(view.blocks) && view.blocks.some((b) => isRecord(b) && b.type === 'input');
    plainText(problems, view.submit, '/view/submit', 24, hasInput);
    plainText(problems, view.close, '/view/close', 24, false);
  }
  stringField(problems, view.private_metadata, '/view/private_metadata', 3000);
  stringField(problems, view.callback_id, '/view/callback_id', 255);
  stringField(problems, view.external_id, '/view/external_id', 255);
  if (Buffer.byteLength(JSON.stringify(view)) > MAX_VIEW_BYTES) problems.push({ pointer: '/view', message: `must be at most ${MAX_VIEW_BYTES} bytes` });
  problems.push(...checkBlocks(view.blocks, MAX_VIEW_BLOCKS, '/view/blocks'));
  if (Array.isArray(view.blocks)) {
    view.blocks.forEach((block, i) => {
      if (!isRecord(block) || block.type !== 'input') return;
      plainText(problems, block.label, `/view/blocks/${i}/label`, 2000, true);
      if (!isRecord(block.element)) problems.push({ pointer: `/view/blocks/${i}/element`, message: 'missing required field' });
    });
  }
  return problems;
}

function readView(params: Record<string, unknown>, type: 'modal' | 'home'): { view?: Record<string, unknown>; error?: MethodResult } {
  const parsed = jsonArg(params, 'view');
  if (!parsed.present || !parsed.ok || !isRecord(parsed.value))
    return { error: fail('invalid_arguments', ['[ERROR] must provide an object [json-pointer:/view]']) };
  const problems = checkView(parsed.value, type);
  if (problems.length > 0) return { error: fail('invalid_arguments', describeBlockProblems(problems)) };
  return { view: parsed.value };
}

function describeView(state: SlackState, view: Record<string, unknown>, id: string): Record<string, unknown> {
  return {
    ...view,
    id,
    team_id: state.identity.teamId,
    app_id: state.identity.appId,
    bot_id: state.identity.botId,
    hash: `${Math.floor(Date.now() / 1000)}.${randomBytes(4).toString('hex')}`,
  };
}

/** views.open, views.update (modals) and views.publish (the App Home of one user, with Slack's `hash` check). */
export const viewMethods: Record<string, MethodSpec> = {
  'views.open': {
    token: 'bot',
    handle(params, { state }) {
      const trigger = stringArg(params, 'trigger_id');
      if (!trigger || !TRIGGER_ID.test(trigger)) return fail('invalid_trigger_id');
      const { view, error } = readView(params, 'modal');
      if (error) return error;
      const opened = describeView(state, view!, state.nextId('V'));
      state.modals.set(opened.id as string, opened);
      return { ok: true, view: opened };
    },
  },
  'views.update': {
    token: 'bot',
    handle(params, { state }) {
      const id = stringArg(params, 'view_id');
      const externalId = stringArg(params, 'external_id');
      if (id === undefined && externalId === undefined) return fail('invalid_arguments', ['[ERROR] must provide view_id or external_id']);
      const current = id !== undefined ? state.modals.get(id) : [...state.modals.values()].find((v) => v.external_id === externalId);
      if (!current) return fail('not_found');
      const hash = stringArg(params, 'hash');
      if (hash !== undefined && current.hash !== hash) return fail('hash_conflict');
      const { view, error } = readView(params, 'modal');
      if (error) return error;
      const updated = describeView(state, view!, current.id as string);
      state.modals.set(updated.id as string, updated);
      return { ok: true, view: updated };
    },
  },
  'views.publish': {
    token: 'bot',
    handle(params, { state }) {
      const user = resolveUser(state, stringArg(params, 'user_id'));
      if (!user) return fail('user_not_found');
      const { view, error } = readView(params, 'home');
      if (error) return error;

      const current = state.homeViews.get(user.id);
      const hash = stringArg(params, 'hash');
      if (hash !== undefined && current && current.view.hash !== hash) return fail('hash_conflict');

      const blocks = view!.blocks as unknown[];
      const published: Record<string, unknown> = {
        id: typeof current?.view.id === 'string' ? current.view.id : state.nextId('V'),
        team_id: state.identity.teamId,
        type: 'home',
        blocks,
        private_metadata: typeof view!.private_metadata === 'string' ? view!.private_metadata : '',
        callback_id: typeof view!.callback_id === 'string' ? view!.callback_id : '',
        state: { values: {} },
        hash: `${Math.floor(Date.now() / 1000)}.${randomBytes(4).toString('hex')}`,
        clear_on_close: false,
        notify_on_close: false,
        root_view_id: null,
        app_id: state.identity.appId,
        external_id: typeof view!.external_id === 'string' ? view!.external_id : '',
        bot_id: state.identity.botId,
      };
      published.root_view_id = published.id;
      state.homeViews.set(user.id, {
        user_id: user.id,
        view: published,
        blocks,
        publishedAt: Date.now(),
        publishCount: (current?.publishCount ?? 0) + 1,
        sequences: mrkdwnTexts(blocks).flatMap(controlSequences),
      });
      return { ok: true, view: published };
    },
  },
};
