import { readWorkerSettings } from '../config.js';
import { UserError } from '../errors.js';
import { loadOrCreateSigner } from '../queue/signing-keys.js';
import { loadHostKeys } from '../secrets/host-keys.js';
import { cliKeyPath } from './run-verb.js';

/**
 * `runnerops keygen <file>`: the bot's job-signing key (mode 0600); prints the public key to give every
 * worker as RUNNEROPS_BOT_KEYS. `runnerops keygen --cli [file]`: a person's terminal key; prints the
 * line for the policy. An existing key is kept and its public key printed again.
 */
export async function runKeygen(args: string[], env: Record<string, string | undefined>, write: (line: string) => void): Promise<number> {
  const cli = args.includes('--cli');
  const rest = args.filter((a) => a !== '--cli');
  if (rest.length > 1 || rest.some((a) => a.startsWith('-'))) throw new UserError('usage: runnerops keygen <file> | runnerops keygen --cli [file]');
  const file = rest[0] ?? (cli ? cliKeyPath(env) : undefined);
  if (!file) throw new UserError('say where the bot key goes: runnerops keygen /var/lib/runnerops/bot-signing-key');
  const { signer, created } = await loadOrCreateSigner(file);
  write(`${created ? 'created' : 'kept the existing key in'} ${file}`);
  write(cli ? `add to your person in the policy: cliKeys: ["${signer.publicKey}"]` : `public key (RUNNEROPS_BOT_KEYS on every worker): ${signer.publicKey}`);
  return 0;
}

/** `runnerops fingerprint`: this host's key fingerprint (created with the keys if missing), for enrolment. */
export async function runFingerprint(env: Record<string, string | undefined>, write: (line: string) => void): Promise<number> {
  const settings = readWorkerSettings({ ...env, RUNNEROPS_BOT_KEYS: env.RUNNEROPS_BOT_KEYS ?? 'ed25519:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=' });
  const keys = await loadHostKeys(settings.stateDir);
  write(`${settings.host} ${keys.hostFingerprint}`);
  return 0;
}
