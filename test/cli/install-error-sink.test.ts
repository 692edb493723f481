import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { installErrorSink } from '../../src/cli/install-error-sink.js';
import { createLogger } from '../../src/logger.js';

/** A logger whose JSON lines are kept in `lines`. */
function keptLog(lines: Array<Record<string, unknown>>) {
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return createLogger({ name: 'test', level: 'info', destination });
}

describe('installErrorSink', () => {
  it('logs an unhandled rejection as one line with its error, counts it, and keeps the process running', () => {
    const target = new EventEmitter();
    const exits: number[] = [];
    const counted: string[] = [];
    const lines: Array<Record<string, unknown>> = [];
    const sink = installErrorSink({ target, exit: (code) => void exits.push(code), write: () => undefined });
    sink.attach(keptLog(lines), (kind) => void counted.push(kind));
    target.emit('unhandledRejection', new Error('lost promise for glpat-abcdefghijklmnop'));
    expect(exits).toEqual([]);
    expect(counted).toEqual(['unhandledRejection']);
    expect(sink.counts.unhandledRejection).toBe(1);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 50,
      kind: 'unhandledRejection',
      msg: 'unhandled promise rejection',
      err: { message: 'lost promise for glpat-[REDACTED]' },
    });
  });

  it('logs and counts an uncaught exception, then exits with 1', () => {
    const target = new EventEmitter();
    const exits: number[] = [];
    const lines: Array<Record<string, unknown>> = [];
    const sink = installErrorSink({ target, exit: (code) => void exits.push(code), write: () => undefined });
    sink.attach(keptLog(lines));
    target.emit('uncaughtException', new TypeError('x is not a function'));
    expect(exits).toEqual([1]);
    expect(sink.counts.uncaughtException).toBe(1);
    expect(lines.map((line) => line.msg)).toEqual(['uncaught exception; stopping']);
  });

  it('writes one line without a stack trace, tokens masked, before a logger is attached', () => {
    const target = new EventEmitter();
    const written: string[] = [];
    installErrorSink({ target, exit: () => undefined, write: (line) => void written.push(line) });
    target.emit(
      'unhandledRejection',
      Object.assign(new Error('Connection is closed.'), { stack: 'Error: Connection is closed.\n    at secret (file.ts:1:1)' }),
    );
    expect(written).toEqual([
      'runnerops: unhandled promise rejection: Redis did not answer, so nothing was queued; try again in a moment (the bot reconnects by itself)',
    ]);
  });

  it('stops handling once uninstalled', () => {
    const target = new EventEmitter();
    const sink = installErrorSink({ target, exit: () => undefined, write: () => undefined });
    sink.uninstall();
    expect(target.listenerCount('unhandledRejection')).toBe(0);
    expect(target.listenerCount('uncaughtException')).toBe(0);
  });

  it('ends a real process that throws outside any promise with exit code 1 and one line on stderr', async () => {
    const script = [
      "import { installErrorSink } from './src/cli/install-error-sink.ts';",
      'installErrorSink();',
      "setImmediate(() => { throw new TypeError('boom'); });",
    ].join('\n');
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(1);
    expect(stderr).toBe('runnerops: uncaught exception; stopping: internal error; see the process log for details\n');
  });
});
