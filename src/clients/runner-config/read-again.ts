import { PermanentJobError } from '../../errors.js';

/** Test hook: runs when a read found a half-written file, before it is read again. */
export interface ReadAgainHooks {
  onHalfWritten?: (attempt: number) => Promise<void>;
}

/** Waits between reads: gitlab-runner's plain write of config.toml ends within milliseconds. */
const WAITS_MS = [50, 100, 200, 400, 800];

/** Whether `err` is parseRunnerConfig's "not valid TOML" (what a reader sees mid-write). */
export function isTomlParseError(err: unknown): boolean {
  return err instanceof PermanentJobError && / is not valid TOML \(line \d+/.test(err.message);
}

/**
 * Runs `read` (which reads and parses config.toml) again when it fails with a TOML parse error:
 * gitlab-runner saves config.toml with a plain write, not temp + rename, so a reader can catch it
 * half-written. Bounded: after about 1.5 s of parse errors the last one is thrown (a broken file).
 */
export async function readAgainOnParseError<T>(read: () => Promise<T>, hooks: ReadAgainHooks = {}): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await read();
    } catch (err) {
      const wait = WAITS_MS[attempt];
      if (!isTomlParseError(err) || wait === undefined) throw err;
      await hooks.onHalfWritten?.(attempt + 1);
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}
