/**
 * `runnerops bot` in a process of its own, as it runs in production, for the ack benchmark: the
 * requests timed come from another process, as Slack's do. Started as
 * `node --import tsx test/bench/bot-process.ts <env as JSON>`; prints one JSON line once it serves,
 * stops on SIGTERM.
 */
import { runBot } from '../../src/cli/run-bot.js';

const bot = await runBot(JSON.parse(process.argv[2] ?? '{}') as Record<string, string>);
console.log(JSON.stringify({ pid: process.pid }));
process.once('SIGTERM', () => void bot.stop().then(() => process.exit(0)));
