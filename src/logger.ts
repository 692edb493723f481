import { pino, stdSerializers, type Logger as PinoLogger, type DestinationStream } from 'pino';
import { redact } from './secrets/redact.js';

export type Logger = PinoLogger;

/** One structured JSON logger per process; children carry the command or job id. */
export function createLogger(options: { level?: string; name: string; destination?: DestinationStream }): Logger {
  return pino(
    {
      name: options.name,
      level: options.level ?? process.env.LOG_LEVEL ?? 'info',
      hooks: {
        // Belt and braces: a token that slipped into a log line is masked before it is written.
        logMethod(args, method) {
          method.apply(this, args.map((a) => (typeof a === 'string' ? redact(a) : a)) as Parameters<typeof method>);
        },
      },
      // Errors become {type, message, stack} first (JSON.stringify alone would drop their message).
      formatters: {
        log: (obj) =>
          JSON.parse(redact(JSON.stringify(obj, (_key, value: unknown) => (value instanceof Error ? stdSerializers.err(value) : value)))) as Record<
            string,
            unknown
          >,
      },
    },
    options.destination,
  );
}
