import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { createEventSigners, type BotTrust } from '../../../src/queue/bot-trust.js';
import { verifyEvent, type JobEvent } from '../../../src/queue/events.js';
import { keys } from '../../../src/queue/names.js';
import { loadSigner, ringOf, type Signer } from '../../../src/queue/signing-keys.js';
import { HOST_KEY_FILE, HOST_SIGNING_KEY_FILE } from '../../../src/secrets/host-keys.js';
import { runRunnerops } from './processes.js';
import { recordSecrets } from './run-dir.js';

/** Private key files (base64 seeds) are secrets too: the final search looks for them everywhere. */
async function recordKeyFiles(...files: string[]): Promise<void> {
  recordSecrets(...(await Promise.all(files.map(async (file) => (await readFile(file, 'utf8')).trim()))));
}

/**
 * The keys of one scenario, made the way an operator makes them: the bot's job-signing key
 * (`runnerops keygen <file>`, given to the bot as RUNNEROPS_SIGNING_KEY and its public key to every
 * worker as RUNNEROPS_BOT_KEYS), a person's terminal key (`runnerops keygen --cli <file>`, listed in
 * the policy) and the bot's API socket the terminal talks to.
 */
export interface OperatorKeys {
  botKeyFile: string;
  /** `ed25519:...`, printed by keygen: RUNNEROPS_BOT_KEYS on every worker. */
  botKeys: string;
  /** The bot's key loaded here, to sign a job as the bot would (a job put on a queue by hand). */
  botSigner: Signer;
  cliKeyFile: string;
  cliPublicKey: string;
  /** The identity the terminal signs as: `cli:<login>`. */
  cliUser: string;
  apiSocket: string;
}

async function keygen(args: string[]): Promise<string> {
  const result = await runRunnerops(['keygen', ...args], {});
  if (result.code !== 0) throw new Error(`runnerops keygen ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
  return result.stdout;
}

/** Makes the scenario's bot key and terminal key in `dir` with the binary, as an operator does. */
export async function setUpOperator(dir: string): Promise<OperatorKeys> {
  const botKeyFile = path.join(dir, 'bot-signing-key');
  const cliKeyFile = path.join(dir, 'cli-key');
  const [botOut, cliOut] = await Promise.all([keygen([botKeyFile]), keygen(['--cli', cliKeyFile])]);
  const botKeys = /RUNNEROPS_BOT_KEYS on every worker\): (ed25519:\S+)/.exec(botOut)?.[1];
  const cliPublicKey = /cliKeys: \["(ed25519:\S+)"\]/.exec(cliOut)?.[1];
  if (!botKeys || !cliPublicKey) throw new Error(`keygen printed no public key: ${botOut} ${cliOut}`);
  await recordKeyFiles(botKeyFile, cliKeyFile);
  return {
    botKeyFile,
    botKeys,
    botSigner: await loadSigner(botKeyFile, 'RUNNEROPS_SIGNING_KEY'),
    cliKeyFile,
    cliPublicKey,
    cliUser: `cli:${os.userInfo().username}`,
    apiSocket: path.join(dir, 'api.sock'),
  };
}

/** The policy's `people` entry for the operator at this terminal. */
export function cliPeople(keys: OperatorKeys): Record<string, { identities: string[]; cliKeys: string[] }> {
  return { operator: { identities: [keys.cliUser], cliKeys: [keys.cliPublicKey] } };
}

/** What `runnerops <verb>` needs in a terminal: the bot's socket and the person's key (no Redis). */
export function cliEnv(keys: OperatorKeys): Record<string, string> {
  return { RUNNEROPS_API_SOCKET: keys.apiSocket, RUNNEROPS_CLI_KEY: keys.cliKeyFile };
}

/**
 * `runnerops fingerprint` on each host (its private keys are remembered for the secret search) (its worker environment: RUNNEROPS_HOST, RUNNEROPS_STATE_DIR),
 * creating the host's keys as the worker would; returns the RUNNEROPS_ENROLLED_HOSTS value that pins them.
 */
export async function pinHosts(hostEnvs: Array<Record<string, string>>): Promise<string> {
  const pairs: string[] = [];
  for (let i = 0; i < hostEnvs.length; i += 4) {
    const batch = await Promise.all(
      hostEnvs.slice(i, i + 4).map(async (env) => {
        const result = await runRunnerops(['fingerprint'], env);
        const [host, fingerprint] = result.stdout.trim().split(' ');
        if (result.code !== 0 || host !== env.RUNNEROPS_HOST || !fingerprint?.startsWith('SHA256:')) {
          throw new Error(`runnerops fingerprint for ${env.RUNNEROPS_HOST} printed "${result.stdout.trim()}" ${result.stderr}`);
        }
        await recordKeyFiles(path.join(env.RUNNEROPS_STATE_DIR!, HOST_KEY_FILE), path.join(env.RUNNEROPS_STATE_DIR!, HOST_SIGNING_KEY_FILE));
        return `${host}=${fingerprint}`;
      }),
    );
    pairs.push(...batch);
  }
  return pairs.join(',');
}

/** What the scenario's bot trusts, for reading its signed streams here as the bot reads them. */
export function botTrustOf(keys: OperatorKeys, pinned: string): BotTrust {
  const map = new Map(
    pinned
      .split(',')
      .filter(Boolean)
      .map((pair) => pair.split('=') as [string, string]),
  );
  return { signer: keys.botSigner, ring: ringOf(keys.botKeys), pinned: map };
}

/**
 * Every event on the stream, each checked as the bot checks it (signed by the enrolled host, or by the
 * bot for control-plane jobs); `refused` counts the entries that do not verify.
 */
export async function verifiedEvents(redis: Redis, prefix: string, trust: BotTrust): Promise<{ events: JobEvent[]; refused: string[] }> {
  const signers = createEventSigners(redis, prefix, trust, 60_000);
  const events: JobEvent[] = [];
  const refused: string[] = [];
  let cursor = '-';
  for (;;) {
    const batch = (await redis.xrange(keys.events(prefix), cursor, '+', 'COUNT', 5000)) as [string, string[]][];
    if (batch.length === 0) break;
    for (const [id, fields] of batch) {
      try {
        events.push(await verifyEvent(fields[1], signers));
      } catch (err) {
        refused.push(`${id}: ${(err as Error).message}`);
      }
    }
    cursor = `(${batch.at(-1)![0]}`;
  }
  return { events, refused };
}
