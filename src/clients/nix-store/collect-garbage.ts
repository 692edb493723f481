import { firstLine } from '../../errors.js';
import type { NixCommand } from './nix-command.js';

/** A path Nix's GC found dead, with what choosing a share of the garbage needs to know. */
export interface DeadPath {
  path: string;
  narSize: number;
  references: string[];
  /** Seconds since epoch, when the path became valid. */
  registrationTime: number;
  /** False for leftovers in the store directory that are no valid path (stale `.lock` files): a full GC deletes them, a limited one leaves them. */
  valid: boolean;
}

/** A nix command that failed: one line naming the store and Nix's own error; `transient` when the daemon did not answer (retrying can help). */
export class NixGcError extends Error {
  override name = 'NixGcError';
  constructor(
    message: string,
    readonly transient: boolean,
  ) {
    super(message);
  }
}

const UNANSWERED = /cannot connect|Connection refused|Connection reset|Broken pipe|unexpected end-of-file|no answer within/i;

export interface GcRunOptions {
  timeoutMs: number;
  signal?: AbortSignal;
}

/** Paths per `nix path-info` / `nix-store --delete` call: well inside the kernel's limit on arguments. */
const CHUNK = 500;
const STORE_PATH = /^\/\S+\/[0-9a-df-np-sv-z]{32}-[^/\s]+$/;
const DELETING = /^deleting '([^']+)'$/;
const FREED = /(\d+) store paths deleted, ([\d.]+) (B|KiB|MiB|GiB|TiB) freed/;
const UNIT: Record<string, number> = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3, TiB: 1024 ** 4 };

async function runChecked(
  nix: NixCommand,
  program: 'nix-store' | 'nix',
  args: string[],
  options: GcRunOptions,
  doing: string,
): Promise<{ stdout: string; stderr: string }> {
  const result = await nix.run(program, args, options);
  if (result.exitCode === 0) return result;
  const lines = result.stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  const reason =
    result.exitCode === null
      ? `no answer within ${Math.round(options.timeoutMs / 1000)}s`
      : (lines.find((l) => l.startsWith('error:')) ?? lines.at(-1) ?? `exit code ${result.exitCode}`).replace(/^error:\s*/, '');
  throw new NixGcError(`${doing} through ${nix.label} failed: ${firstLine(reason)}`, UNANSWERED.test(reason));
}

/** What Nix's GC would delete now: `nix-store --gc --print-dead`, which takes the GC lock like a real collection. */
export async function listDeadPaths(nix: NixCommand, options: GcRunOptions): Promise<string[]> {
  const { stdout } = await runChecked(nix, 'nix-store', ['--gc', '--print-dead'], options, 'listing dead paths');
  return stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => STORE_PATH.test(l))
    .sort();
}

/**
 * NAR size, references and registration time of `paths`, asked of the daemon (`nix path-info --json`).
 * Store derivations are asked with `--derivation`: without it `path-info` answers for their outputs.
 */
export async function readDeadPaths(nix: NixCommand, paths: readonly string[], options: GcRunOptions): Promise<DeadPath[]> {
  const drvs = paths.filter((p) => p.endsWith('.drv'));
  const others = paths.filter((p) => !p.endsWith('.drv'));
  const out: DeadPath[] = [];
  const chunks = [
    ...Array.from({ length: Math.ceil(drvs.length / CHUNK) }, (_, i) => ['--derivation', ...drvs.slice(i * CHUNK, (i + 1) * CHUNK)]),
    ...Array.from({ length: Math.ceil(others.length / CHUNK) }, (_, i) => others.slice(i * CHUNK, (i + 1) * CHUNK)),
  ];
  for (const chunk of chunks) {
    options.signal?.throwIfAborted();
    const { stdout } = await runChecked(nix, 'nix', ['path-info', '--json', ...chunk], options, 'reading dead paths');
    const infos = JSON.parse(stdout) as Array<{ path: string; narSize?: number; references?: string[]; registrationTime?: number; valid?: boolean }>;
    for (const info of infos) {
      out.push({
        path: info.path,
        narSize: info.narSize ?? 0,
        references: info.references ?? [],
        registrationTime: info.registrationTime ?? 0,
        valid: info.valid !== false,
      });
    }
  }
  return out;
}

/** What a collection said it did: the paths it deleted (its "deleting '...'" lines) and the bytes it freed. */
export interface Collected {
  deleted: string[];
  /** As Nix reports it (file bytes, after hard-link sharing; two decimals of MiB). */
  freedBytes: number;
}

function parseCollected(stdout: string, stderr: string): Collected {
  const deleted = stderr
    .split('\n')
    .map((l) => DELETING.exec(l.trim())?.[1])
    .filter((p): p is string => p !== undefined && STORE_PATH.test(p));
  const freed = FREED.exec(stdout) ?? FREED.exec(stderr);
  return { deleted, freedBytes: freed ? Math.round(Number(freed[2]) * (UNIT[freed[3] ?? 'B'] ?? 1)) : 0 };
}

/** A full collection: `nix-store --gc`, Nix finding roots and deleting under its own GC lock. */
export async function collectAllGarbage(nix: NixCommand, options: GcRunOptions): Promise<Collected> {
  const { stdout, stderr } = await runChecked(nix, 'nix-store', ['--gc'], options, 'collecting garbage');
  return parseCollected(stdout, stderr);
}

/**
 * Deletes exactly `paths` (referrers first, as chooseGarbage orders them) with `nix-store --delete`:
 * Nix checks each is still dead under its GC lock and refuses one that came alive.
 */
export async function deleteDeadPaths(nix: NixCommand, paths: readonly string[], options: GcRunOptions): Promise<Collected> {
  const total: Collected = { deleted: [], freedBytes: 0 };
  for (let i = 0; i < paths.length; i += CHUNK) {
    options.signal?.throwIfAborted();
    const { stdout, stderr } = await runChecked(nix, 'nix-store', ['--delete', ...paths.slice(i, i + CHUNK)], options, 'deleting dead paths');
    const part = parseCollected(stdout, stderr);
    total.deleted.push(...part.deleted);
    total.freedBytes += part.freedBytes;
  }
  return total;
}
