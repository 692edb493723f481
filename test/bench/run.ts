import { formatLine } from './report.js';
import { SUITES } from './suites.js';

/** `npm run bench [name...]`: runs the suites (or the named ones) and prints each figure with its baseline. */
async function main(): Promise<void> {
  const only = process.argv.slice(2);
  let failed = false;
  for (const load of SUITES) {
    const suite = await load();
    if (only.length > 0 && !only.includes(suite.name)) continue;
    console.log(`\n## ${suite.name}`);
    try {
      for (const line of await suite.run()) console.log(formatLine(line));
    } catch (err) {
      failed = true;
      console.error(`${suite.name} failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  // Exit as `runnerops` does once stopped: Slack's WebClient may still be retrying a card post a suite's
  // fake Slack rate-limited, and the bench does not wait for those retries.
  process.exit(failed ? 1 : 0);
}

void main();
