import { describe, expect, it } from 'vitest';
import { SignatureError, signDocument, verifyDocument } from '../../src/queue/signed.js';
import { generateSigner, ringOf } from '../../src/queue/signing-keys.js';

const signer = generateSigner();
const ring = ringOf(signer.publicKey);

describe('verifyDocument', () => {
  it('returns the body of a document a key of the ring signed, whatever the order of its keys', () => {
    const doc = signDocument(signer, 'event', { b: 2, a: 1 });
    const reordered = JSON.parse(JSON.stringify({ sig: doc.sig, kid: doc.kid, body: { a: 1, b: 2 }, kind: doc.kind }));
    expect(verifyDocument(reordered, 'event', ring).body).toEqual({ a: 1, b: 2 });
  });

  it('refuses a signature of one kind presented as another, an unknown key, a changed body and no signature', () => {
    const doc = signDocument(signer, 'notice', { host: 'ci-1' });
    expect(() => verifyDocument(doc, 'event', ring)).toThrow('a notice signature presented as a event');
    expect(() => verifyDocument(signDocument(generateSigner(), 'event', {}), 'event', ring)).toThrow(/signed by unknown key/);
    expect(() => verifyDocument({ ...doc, body: { host: 'ci-2' } }, 'notice', ring)).toThrow(SignatureError);
    expect(() => verifyDocument({ body: {} }, 'notice', ring)).toThrow('unsigned notice');
    expect(() => verifyDocument(null, 'notice', ring)).toThrow('unsigned notice');
  });
});
