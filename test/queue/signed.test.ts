import { describe, expect, it } from 'vitest';
import { SignatureError, signDocument, verifyDocument, verifyDocumentInPool } from '../../src/queue/signed.js';
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

describe('verifyDocumentInPool', () => {
  it('accepts what verifyDocument accepts and refuses a changed body, a changed signature and an unknown key alike', async () => {
    const doc = signDocument(signer, 'event', { host: 'ci-1', n: 1 });
    expect((await verifyDocumentInPool(doc, 'event', ring)).body).toEqual({ host: 'ci-1', n: 1 });
    await expect(verifyDocumentInPool({ ...doc, body: { host: 'ci-1', n: 2 } }, 'event', ring)).rejects.toThrow(/event with a bad signature/);
    const flipped = Buffer.from(doc.sig, 'base64');
    flipped[0] = (flipped[0] ?? 0) ^ 1;
    await expect(verifyDocumentInPool({ ...doc, sig: flipped.toString('base64') }, 'event', ring)).rejects.toThrow(/event with a bad signature/);
    await expect(verifyDocumentInPool(signDocument(generateSigner(), 'event', {}), 'event', ring)).rejects.toThrow(/signed by unknown key/);
    await expect(verifyDocumentInPool({ ...doc, sig: 'not base64!' }, 'event', ring)).rejects.toThrow(SignatureError);
  });
});
