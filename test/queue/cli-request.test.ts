import { describe, expect, it } from 'vitest';
import { signCliRequest, verifyCliRequest } from '../../src/queue/cli-request.js';
import { generateSigner } from '../../src/queue/signing-keys.js';

const alice = generateSigner();
const people = [{ name: 'alice', identities: ['cli:alice', 'U0ALICE'], cliKeys: [alice.publicKey] }];

describe('verifyCliRequest', () => {
  it('accepts a fresh request signed with a key listed for the person whose identity it names', () => {
    expect(verifyCliRequest(signCliRequest(alice, 'cli:alice', ['hosts']), people)).toMatchObject({ user: 'cli:alice', args: ['hosts'], person: 'alice' });
  });

  it('refuses a Slack identity, another key, and a request more than a minute old', () => {
    expect(() => verifyCliRequest(signCliRequest(alice, 'U0ALICE', ['hosts']), people)).toThrow('no person in the policy has the identity U0ALICE');
    expect(() => verifyCliRequest(signCliRequest(generateSigner(), 'cli:alice', ['hosts']), people)).toThrow(/unknown key/);
    expect(() => verifyCliRequest(signCliRequest(alice, 'cli:alice', ['hosts'], Date.now() - 120_000), people)).toThrow('more than a minute old');
  });
});
