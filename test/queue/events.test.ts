import { describe, expect, it } from 'vitest';
import type { CommandRow } from '../../src/queue/command-record.js';
import { applyEvent, type JobEvent } from '../../src/queue/events.js';

const event = (type: JobEvent['type'], extra: Partial<JobEvent> = {}): JobEvent => ({
  type,
  commandId: 'c-1',
  host: 'ci-1',
  job: 'prune-docker',
  at: 1000,
  ...extra,
});
const queued: CommandRow = { host: 'ci-1', status: 'queued', queuedAt: 500 };

describe('applyEvent', () => {
  it('starts a row that did not exist yet as queued at the event time, then running', () => {
    expect(applyEvent(undefined, event('started', { at: 700 }))).toEqual({ host: 'ci-1', status: 'running', queuedAt: 700, startedAt: 700 });
  });

  it('keeps the first start time when a retried job starts again', () => {
    const running = applyEvent(queued, event('started', { at: 600 }));
    expect(applyEvent(applyEvent(running, event('retrying', { at: 700 })), event('started', { at: 900 })).startedAt).toBe(600);
  });

  it('shows the phase and detail of a progress event and keeps the phase when the next one has none', () => {
    const first = applyEvent(queued, event('progress', { phase: 'pruning images', detail: '3 of 9' }));
    expect(first).toMatchObject({ status: 'running', phase: 'pruning images', detail: '3 of 9' });
    expect(applyEvent(first, event('progress', { detail: '4 of 9' }))).toMatchObject({ phase: 'pruning images', detail: '4 of 9' });
  });

  it('marks a row retrying with the reason', () => {
    expect(applyEvent(queued, event('retrying', { summary: 'Docker Engine answered 409' }))).toMatchObject({
      status: 'retrying',
      summary: 'Docker Engine answered 409',
    });
  });

  it('finishes a row with its summary, result and end time, and drops the phase', () => {
    const running = applyEvent(queued, event('progress', { phase: 'pruning', detail: 'images' }));
    const done = applyEvent(running, event('completed', { at: 2000, summary: 'reclaimed 1 GiB', result: { bytes: 1 } }));
    expect(done).toEqual({ host: 'ci-1', status: 'done', queuedAt: 500, summary: 'reclaimed 1 GiB', result: { bytes: 1 }, finishedAt: 2000 });
    expect(applyEvent(running, event('failed', { summary: 'no such container' }))).toMatchObject({ status: 'failed', summary: 'no such container' });
  });

  it('leaves a finished row as it is when a late or replayed event arrives', () => {
    const done = applyEvent(queued, event('completed', { summary: 'ok' }));
    expect(applyEvent(done, event('started', { at: 5000 }))).toBe(done);
    const failed = applyEvent(queued, event('failed', { summary: 'no' }));
    expect(applyEvent(failed, event('completed', { summary: 'yes' }))).toBe(failed);
  });

  it('keeps the row running when a step of a control job ends, showing the step summary as detail', () => {
    const row = applyEvent(queued, event('completed', { step: true, summary: 'paused 2 runners' }));
    expect(row).toMatchObject({ status: 'running', detail: 'paused 2 runners' });
    expect(row.finishedAt).toBeUndefined();
  });
});
