import { UserError } from '../../errors.js';

/** Why a store source could not be read; decides whether another source is worth trying. */
export type StoreReadFailure = 'missing' | 'unreadable' | 'corrupt' | 'busy' | 'daemon';

/** A store that could not be read, with one line for a person saying what and what to check. */
export class StoreReadError extends UserError {
  override name = 'StoreReadError';

  constructor(
    message: string,
    readonly reason: StoreReadFailure,
  ) {
    super(message);
  }
}

/** Words for a file-system error code, for one-line messages. */
export function describeErrno(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
      return 'does not exist';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'ENOTDIR':
      return 'a parent is not a directory';
    case 'EISDIR':
      return 'is a directory';
    case 'ELOOP':
      return 'too many symbolic links';
    default:
      return code ?? (err instanceof Error ? (err.message.split('\n', 1)[0] ?? '') : String(err));
  }
}
