import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../src/logger.js';
import { defined } from './helpers/defined.js';

function capture(): { lines: string[]; stream: Writable } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { lines, stream };
}

describe('createLogger', () => {
  it('keeps the message of a logged error', () => {
    const { lines, stream } = capture();
    createLogger({ name: 't', destination: stream }).error({ err: new Error('disk on fire') }, 'job failed');
    expect(JSON.parse(defined(lines[0], 'a log line')).err.message).toBe('disk on fire');
  });

  it('masks tokens in messages and fields', () => {
    const { lines, stream } = capture();
    const token = `glrt-${'a1b2c3d4'.repeat(3)}`;
    createLogger({ name: 't', destination: stream }).info({ detail: `token ${token}` }, `saw ${token}`);
    expect(lines[0]).not.toContain(token);
    expect(lines[0]).toContain('glrt-[REDACTED]');
  });
});
