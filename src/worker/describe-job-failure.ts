import { describeError, firstLine, INTERNAL_ERROR } from '../errors.js';
import { redact } from '../secrets/redact.js';

/**
 * What a card says about a job failure: `describeError`, except that an internal error carries its own
 * first line (tokens masked), so the person can tell one bug from another without reading the log.
 */
export function describeJobFailure(err: unknown): string {
  const said = describeError(err);
  if (said !== INTERNAL_ERROR || !(err instanceof Error) || err.message.trim() === '') return said;
  return `internal error: ${redact(firstLine(err.message))}; see the process log for details`;
}
