/** `value` when it is there; otherwise a failure that names what was missing (an index out of range, a missing key). */
export function defined<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`expected ${what}, found nothing`);
  return value;
}
