import type { BotSettings } from '../config.js';
import { UserError } from '../errors.js';
import type { BotTrust } from '../queue/bot-trust.js';
import { loadSigner, parsePublicKey } from '../queue/signing-keys.js';

/** The bot's signing key (RUNNEROPS_SIGNING_KEY), the earlier keys still accepted, and pinned host fingerprints. */
export async function loadBotTrust(settings: Pick<BotSettings, 'signingKeyFile' | 'previousBotKeys' | 'enrolledHosts'>): Promise<BotTrust> {
  if (!settings.signingKeyFile) {
    throw new UserError(
      'RUNNEROPS_SIGNING_KEY is not set; create the bot\'s job-signing key with "runnerops keygen /var/lib/runnerops/bot-signing-key", point RUNNEROPS_SIGNING_KEY at it, and give its public key to every worker as RUNNEROPS_BOT_KEYS',
    );
  }
  const signer = await loadSigner(settings.signingKeyFile, 'RUNNEROPS_SIGNING_KEY');
  const ring = new Map(settings.previousBotKeys);
  ring.set(signer.kid, parsePublicKey(signer.publicKey, 'RUNNEROPS_SIGNING_KEY'));
  return { signer, ring, pinned: settings.enrolledHosts };
}
