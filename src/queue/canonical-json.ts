/**
 * The one byte encoding every signature in runnerops covers: JSON with object keys sorted, no
 * whitespace, `undefined` members left out. The verifier re-encodes what it received and checks the
 * signature over those bytes, so a reordered or re-spaced copy verifies and a changed one does not.
 */
export function canonicalJson(value: unknown): string {
  return encode(value, 0);
}

function encode(value: unknown, depth: number): string {
  if (depth > 64) throw new TypeError('canonicalJson: nesting deeper than 64 levels');
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError('canonicalJson: numbers must be finite');
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) return `[${value.map((item) => (item === undefined ? 'null' : encode(item, depth + 1))).join(',')}]`;
      const entries = Object.keys(value as Record<string, unknown>)
        .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
        .sort()
        .map((k) => `${JSON.stringify(k)}:${encode((value as Record<string, unknown>)[k], depth + 1)}`);
      return `{${entries.join(',')}}`;
    }
    default:
      throw new TypeError(`canonicalJson: cannot encode a ${typeof value}`);
  }
}
