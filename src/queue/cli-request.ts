import { randomBytes } from 'node:crypto';
import { signDocument, verifyDocument, SignatureError, type Signed } from './signed.js';
import { keyIdOf, parsePublicKey, type Signer } from './signing-keys.js';

/** A command typed in a terminal, signed with the person's own key and sent to the bot's local API. */
export interface CliRequest {
  /** `cli:<login>`: one of the person's identities in the policy. */
  user: string;
  args: string[];
  issuedAt: number;
  nonce: string;
}

/** How far a terminal request's clock may be from the bot's. */
export const CLI_REQUEST_WINDOW_MS = 60_000;

export function signCliRequest(signer: Signer, user: string, args: string[], now = Date.now()): Signed<CliRequest> {
  return signDocument(signer, 'cli-request', { user, args, issuedAt: now, nonce: randomBytes(16).toString('hex') });
}

/** People allowed to use the terminal, from the policy: `cli:` identity -> accepted keys. */
export interface CliPerson {
  name: string;
  identities: string[];
  cliKeys: string[];
}

/**
 * Verifies a terminal request (input from a socket): signed by a key listed for the person whose
 * identity it names, fresh, well formed. The nonce is for the caller's replay check. Throws
 * SignatureError with a one-line reason.
 */
export function verifyCliRequest(input: unknown, people: CliPerson[], now = Date.now()): CliRequest & { person: string } {
  const user = (input as Partial<Signed<CliRequest>> | undefined)?.body?.user;
  const person = typeof user === 'string' && user.startsWith('cli:') ? people.find((p) => p.identities.includes(user)) : undefined;
  if (!person) throw new SignatureError(`no person in the policy has the identity ${typeof user === 'string' ? user.slice(0, 40) : '(none)'}`);
  const ring = new Map(person.cliKeys.map((k) => [keyIdOf(k), parsePublicKey(k, `people.${person.name}.cliKeys`)]));
  const { body } = verifyDocument<CliRequest>(input, 'cli-request', ring);
  if (!Array.isArray(body.args) || body.args.some((a) => typeof a !== 'string') || body.args.length > 50)
    throw new SignatureError('a terminal request without a word list');
  if (typeof body.issuedAt !== 'number' || Math.abs(now - body.issuedAt) > CLI_REQUEST_WINDOW_MS)
    throw new SignatureError('a terminal request more than a minute old (or from the future): check the clocks');
  if (typeof body.nonce !== 'string' || !/^[0-9a-f]{32}$/.test(body.nonce)) throw new SignatureError('a terminal request without a nonce');
  return { ...body, person: person.name };
}
