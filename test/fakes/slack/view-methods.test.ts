import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newTriggerId } from '../../helpers/slack-requests.js';
import { errorOf, fakeClient } from './fake-client.js';
import { startFakeSlack, type FakeSlack } from './server.js';
import { checkView } from './view-methods.js';

let fake: FakeSlack;
beforeAll(async () => {
  fake = await startFakeSlack();
});
afterAll(async () => fake.close());

const modal = (extra: Record<string, unknown> = {}) => ({
  type: 'modal',
  title: { type: 'plain_text', text: 'Deny request' },
  submit: { type: 'plain_text', text: 'Deny' },
  blocks: [{ type: 'input', block_id: 'reason', label: { type: 'plain_text', text: 'Why' }, element: { type: 'plain_text_input', action_id: 'reason' } }],
  ...extra,
});

describe('checkView', () => {
  it('accepts a modal within every limit', () => {
    expect(checkView(modal(), 'modal')).toEqual([]);
  });

  it('names each modal limit that is exceeded', () => {
    const problems = checkView(
      modal({
        title: { type: 'plain_text', text: 'x'.repeat(25) },
        close: { type: 'plain_text', text: 'y'.repeat(25) },
        private_metadata: 'z'.repeat(3001),
        callback_id: 'c'.repeat(256),
      }),
      'modal',
    ).map((p) => p.pointer);
    expect(problems).toEqual(['/view/title/text', '/view/close/text', '/view/private_metadata', '/view/callback_id']);
  });

  it('requires a submit button when the modal has an input', () => {
    const { submit: _submit, ...noSubmit } = modal();
    expect(checkView(noSubmit, 'modal').map((p) => p.pointer)).toEqual(['/view/submit']);
  });

  it('refuses more than 100 blocks in a Home tab', () => {
    const blocks = Array.from({ length: 101 }, () => ({ type: 'divider' }));
    expect(checkView({ type: 'home', blocks }, 'home').map((p) => p.message)).toContain('must provide at most 100 items');
  });
});

describe('views.open and views.update', () => {
  it('opens a modal and replaces it by view id', async () => {
    const client = fakeClient(fake);
    const opened = await client.views.open({ trigger_id: newTriggerId(), view: modal() as never });
    await client.views.update({
      view_id: opened.view!.id!,
      view: { type: 'modal', title: { type: 'plain_text', text: 'Done' }, blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'refused' } }] },
    });
    expect(JSON.stringify(fake.modals.get(opened.view!.id!))).toContain('refused');
  });

  it('refuses a modal title over 24 characters with invalid_arguments', async () => {
    expect(
      await errorOf(
        fakeClient(fake).views.open({ trigger_id: newTriggerId(), view: modal({ title: { type: 'plain_text', text: 'A title that is too long!' } }) as never }),
      ),
    ).toBe('invalid_arguments');
  });

  it('answers not_found for a view it never opened', async () => {
    expect(await errorOf(fakeClient(fake).views.update({ view_id: 'V0NOSUCH', view: modal() as never }))).toBe('not_found');
  });
});
