import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorOf, fakeClient } from './fake-client.js';
import { startFakeSlack, type FakeSlack } from './server.js';

let fake: FakeSlack;
beforeAll(async () => {
  fake = await startFakeSlack({ channels: [{ id: 'C0OUTSIDE01', name: 'outside', is_member: false }] });
});
afterAll(async () => fake.close());

describe('files.completeUploadExternal', () => {
  it('keeps the comment and ignores blocks sent with it, as Slack documents', async () => {
    await fakeClient(fake).filesUploadV2({
      channel_id: 'C0FILES',
      initial_comment: 'report for <!here>',
      blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'ignored' } }],
      file_uploads: [{ file: Buffer.from('rows'), filename: 'report.txt' }],
    } as never);
    const upload = fake.uploads.at(-1)!;
    expect(upload.initial_comment).toBe('report for <!here>');
    expect(upload.blocks).toBeUndefined();
    expect(upload.sequences).toEqual(['<!here>']);
  });

  it('refuses to share a file in a channel the bot is not in', async () => {
    expect(await errorOf(fakeClient(fake).filesUploadV2({ channel_id: 'C0OUTSIDE01', file: Buffer.from('x'), filename: 'x.txt' }))).toBe('not_in_channel');
  });
});
