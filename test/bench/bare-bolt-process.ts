/**
 * The ack benchmark's baseline (`bare-bolt.ts`) in a process of its own, like the bot it is compared
 * with. Started as `node --import tsx test/bench/bare-bolt-process.ts <json>`; prints its URL as one
 * JSON line, stops on SIGTERM.
 */
import { startBareBolt } from './bare-bolt.js';

const options = JSON.parse(process.argv[2] ?? '{}') as { secret: string; token: string; apiUrl: string };
const bare = await startBareBolt(options.secret, options.token, options.apiUrl);
console.log(JSON.stringify({ url: bare.url }));
process.once('SIGTERM', () => void bare.stop().then(() => process.exit(0)));
