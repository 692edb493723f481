import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseRunnerConfig } from '../../../src/clients/runner-config/config-toml.js';
import { isTomlParseError, readAgainOnParseError } from '../../../src/clients/runner-config/read-again.js';
import { readIfExists } from '../../../src/clients/runner-config/write-file-atomic.js';

let dir: string | undefined;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const full = '[[runners]]\nname = "nix"\ntoken = "glrt-x"\n';

describe('readAgainOnParseError', () => {
  it('reads a config.toml caught half-written again once the writer has finished', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'read-again-'));
    const file = path.join(dir, 'config.toml');
    await writeFile(file, full.slice(0, 20));
    const seen: number[] = [];
    const config = await readAgainOnParseError(async () => parseRunnerConfig(await readIfExists(file), file), {
      onHalfWritten: async (attempt) => {
        seen.push(attempt);
        await writeFile(file, full);
      },
    });
    expect(config.runners?.[0]?.name).toBe('nix');
    expect(seen).toEqual([1]);
  });

  it('gives up on a file that stays invalid and says it is not valid TOML', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'read-again-'));
    const file = path.join(dir, 'config.toml');
    await writeFile(file, '[[runners]\n');
    let attempts = 0;
    const err = await readAgainOnParseError(async () => parseRunnerConfig(await readIfExists(file), file), {
      onHalfWritten: async () => void attempts++,
    }).catch((e: unknown) => e);
    expect(isTomlParseError(err)).toBe(true);
    expect((err as Error).message).toContain(`${file} is not valid TOML`);
    expect(attempts).toBe(5);
  });

  it('passes other errors on at once', async () => {
    let calls = 0;
    await expect(
      readAgainOnParseError(async () => {
        calls++;
        throw new Error('EACCES');
      }),
    ).rejects.toThrow('EACCES');
    expect(calls).toBe(1);
  });
});
