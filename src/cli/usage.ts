import { helpText } from '../present/help.js';

/** `runnerops --help`. */
export function cliUsage(): string {
  return [
    'usage: runnerops <command> [options]',
    '',
    'processes:',
    '  runnerops bot      the Slack bot (Socket Mode with SLACK_APP_TOKEN, HTTP with SLACK_SIGNING_SECRET)',
    '  runnerops worker   the worker on a runner host (REDIS_URL, RUNNEROPS_HOST, ...)',
    '  runnerops dev      the whole stack on this machine with embedded defaults (no Slack needed)',
    '',
    'keys and access (docs/security.md):',
    "  runnerops keygen <file>      the bot's job-signing key; prints the public key for RUNNEROPS_BOT_KEYS",
    '  runnerops keygen --cli       your terminal key; prints the line for your person in the policy',
    '  runnerops fingerprint        this host\'s key fingerprint, to compare before "enroll <host>"',
    '  runnerops acl <role> ...     Redis ACL lines: acl bot | acl worker <host> [...]',
    '',
    'verbs (the same as /runner in Slack):',
    ...helpText(undefined, 'runnerops')
      .split('\n')
      .slice(1)
      .map((line) => `  ${line}`),
    '',
    'configuration is read from the environment; see README.md',
  ].join('\n');
}
