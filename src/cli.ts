#!/usr/bin/env node
import { cliUsage } from './cli/usage.js';
import { runBot } from './cli/run-bot.js';
import { runDev } from './cli/run-dev.js';
import { runVerb } from './cli/run-verb.js';
import { runWorker } from './cli/run-worker.js';
import { runFingerprint, runKeygen } from './cli/run-keys.js';
import { runAcl } from './cli/run-acl.js';
import { describeError } from './errors.js';
import { installErrorSink } from './cli/install-error-sink.js';

/** One entry point: runnerops bot | worker | dev | <verb> ... */
async function main(argv: string[]): Promise<number> {
  const [command] = argv;
  const env = process.env;
  const write = (line: string) => process.stdout.write(`${line}\n`);
  if (command === undefined || command === '--help' || command === '-h') {
    write(cliUsage());
    return command === undefined ? 1 : 0;
  }
  const untilSignal = () => new Promise<void>((resolve) => ['SIGTERM', 'SIGINT'].forEach((s) => process.once(s, () => resolve())));
  switch (command) {
    case 'worker': {
      const worker = await runWorker(env, { errorSink: installErrorSink() });
      await untilSignal();
      await worker.stop();
      return 0;
    }
    case 'bot': {
      const bot = await runBot(env, { errorSink: installErrorSink() });
      await untilSignal();
      await bot.stop();
      return 0;
    }
    case 'keygen':
      return runKeygen(argv.slice(1), env, write);
    case 'fingerprint':
      return runFingerprint(env, write);
    case 'acl':
      return runAcl(argv.slice(1), env, write);
    case 'dev':
      await runDev(env, { input: process.stdin, write, errorSink: installErrorSink() });
      return 0;
    default:
      return runVerb(argv, { env, write });
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`runnerops: ${describeError(err)}\n`);
    if (process.env.LOG_LEVEL === 'debug') console.error(err);
    process.exit(1);
  },
);
