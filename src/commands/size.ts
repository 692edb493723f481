import { UserError } from '../errors.js';
import { clip } from './duration.js';

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };
const SIZE = /^(\d{1,9}(?:\.\d{1,3})?)\s*([kmgt]?)(?:i?b)?$/i;

/** Parses "500M", "10G", "1.5GiB", "2048" (bytes) into bytes, in binary units as Nix's --max-freed does. */
export function parseSize(text: string, flag: string): number {
  const match = SIZE.exec(text.trim());
  if (!match) {
    throw new UserError(`${flag} "${clip(text)}" is not a size; use a number with K, M, G or T (e.g. 10G)`);
  }
  const bytes = Math.round(Number(match[1]) * (UNITS[(match[2] ?? '').toLowerCase()] ?? 1));
  if (bytes <= 0) throw new UserError(`${flag} must be more than zero`);
  return bytes;
}

/** A free-space target: a share of the filesystem ("20%") or an amount of free bytes ("50G"). */
export type FreeTarget = { percent: number } | { bytes: number };

/** Parses `--target-free 20%` or `--target-free 50G`. */
export function parseFreeTarget(text: string, flag: string): FreeTarget {
  const percent = /^(\d{1,2}(?:\.\d{1,2})?)%$/.exec(text.trim());
  if (percent) {
    const value = Number(percent[1]);
    if (value < 1 || value > 95) throw new UserError(`${flag} "${clip(text)}" is not valid; expected a share from 1% to 95%`);
    return { percent: value };
  }
  if (text.trim().endsWith('%')) throw new UserError(`${flag} "${clip(text)}" is not valid; expected a share from 1% to 95%`);
  try {
    return { bytes: parseSize(text, flag) };
  } catch {
    throw new UserError(`${flag} "${clip(text)}" is not valid; expected a share of the disk like 20% or free bytes like 50G`);
  }
}
