import type { EventEmitter } from 'node:events';
import { describeError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { ProcessErrorKind } from '../ops/create-metrics.js';
import { redact } from '../secrets/redact.js';

/** The one place a process's unhandled errors end up. */
export interface ErrorSink {
  /** From now on, log through `log` (JSON lines, tokens masked) and count through `count` (/metrics). */
  attach: (log: Logger, count?: (kind: ProcessErrorKind) => void) => void;
  readonly counts: Readonly<Record<ProcessErrorKind, number>>;
  /** Removes the handlers (tests). */
  uninstall: () => void;
}

export interface ErrorSinkDeps {
  /** The process whose events are handled. @defaultValue `process` */
  target?: Pick<EventEmitter, 'on' | 'off'>;
  /** Where a line goes before a logger is attached: stderr. */
  write?: (line: string) => void;
  /** Ends the process after an uncaught exception. @defaultValue process.exit */
  exit?: (code: number) => void;
}

/**
 * Installs the process-level handlers of `runnerops bot`, `worker` and `dev`: a promise rejection nobody
 * handled, or an exception nobody caught, is logged as one line (the error with its stack goes to the
 * JSON log only; a person on the console reads `describeError`'s line, never a stack trace), counted,
 * and for an uncaught exception the process exits with 1, since its state can no longer be trusted;
 * systemd or the container runtime starts it again. A rejection does not end the process: the work it
 * belonged to failed, the rest goes on.
 */
export function installErrorSink(deps: ErrorSinkDeps = {}): ErrorSink {
  const target = deps.target ?? process;
  const write = deps.write ?? ((line: string) => void process.stderr.write(`${line}\n`));
  const exit = deps.exit ?? ((code: number) => process.exit(code));
  const counts: Record<ProcessErrorKind, number> = { unhandledRejection: 0, uncaughtException: 0 };
  let log: Logger | undefined;
  let count: ((kind: ProcessErrorKind) => void) | undefined;

  const report = (kind: ProcessErrorKind, err: unknown) => {
    counts[kind]++;
    try {
      count?.(kind);
    } catch {
      // A metric that cannot be counted must not hide the error itself.
    }
    const what = kind === 'uncaughtException' ? 'uncaught exception; stopping' : 'unhandled promise rejection';
    if (log) log.error({ err, kind }, what);
    else write(`runnerops: ${what}: ${redact(describeError(err))}`);
  };
  const onRejection = (reason: unknown) => report('unhandledRejection', reason);
  const onException = (err: unknown) => {
    report('uncaughtException', err);
    exit(1);
  };
  target.on('unhandledRejection', onRejection);
  target.on('uncaughtException', onException);
  return {
    counts,
    attach: (logger, counter) => {
      log = logger;
      count = counter;
    },
    uninstall: () => {
      target.off('unhandledRejection', onRejection);
      target.off('uncaughtException', onException);
    },
  };
}
