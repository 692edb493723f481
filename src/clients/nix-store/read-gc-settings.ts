import fs from 'node:fs';
import path from 'node:path';
import { describeErrno } from './store-read-error.js';

export interface GcSettings {
  /** `keep-outputs`: a live derivation keeps its outputs. @defaultValue false (Nix's default) */
  keepOutputs: boolean;
  /** `keep-derivations`: a live output keeps the derivation it was built from. @defaultValue true (Nix's default) */
  keepDerivations: boolean;
}

export const DEFAULT_GC_SETTINGS: GcSettings = { keepOutputs: false, keepDerivations: true };

export interface GcSettingsRead extends GcSettings {
  /** The nix.conf that was read. */
  confFile: string;
  /** Whether it existed (when not, Nix's defaults apply). */
  found: boolean;
  /** Problems worth telling a person (unreadable include, bad value), one line each. */
  warnings: string[];
}

/** The system nix.conf as Nix finds it: `$NIX_CONF_DIR/nix.conf`, else `/etc/nix/nix.conf`. */
export function defaultNixConfFile(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(env.NIX_CONF_DIR && env.NIX_CONF_DIR.trim() !== '' ? env.NIX_CONF_DIR : '/etc/nix', 'nix.conf');
}

/**
 * Reads `keep-outputs` and `keep-derivations` (and their old `gc-` names) from a nix.conf the way
 * Nix parses it: `#` comments, `name = value`, later lines win, `include` / `!include` relative to
 * the file. A missing file means Nix's defaults.
 */
export function readGcSettings(confFile: string = defaultNixConfFile()): GcSettingsRead {
  const result: GcSettingsRead = { ...DEFAULT_GC_SETTINGS, confFile, found: false, warnings: [] };
  const apply = (file: string, depth: number, mustExist: boolean): void => {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' && !mustExist) return;
      result.warnings.push(`cannot read Nix config ${file}: ${describeErrno(err)}; assuming Nix's defaults for what it sets`);
      return;
    }
    if (depth === 0) result.found = true;
    for (const rawLine of text.split('\n')) {
      const hash = rawLine.indexOf('#');
      const tokens = (hash === -1 ? rawLine : rawLine.slice(0, hash)).split(/[ \t\r]+/).filter((t) => t !== '');
      const [name, second] = tokens;
      if (name === undefined || second === undefined) continue;
      if ((name === 'include' || name === '!include') && depth < 10) {
        apply(path.resolve(path.dirname(file), second), depth + 1, name === 'include');
        continue;
      }
      if (second !== '=') continue;
      const value = tokens.slice(2).join(' ');
      if (name === 'keep-outputs' || name === 'gc-keep-outputs') {
        result.keepOutputs = parseBool(value, name, file, result.keepOutputs, result.warnings);
      } else if (name === 'keep-derivations' || name === 'gc-keep-derivations') {
        result.keepDerivations = parseBool(value, name, file, result.keepDerivations, result.warnings);
      }
    }
  };
  apply(confFile, 0, false);
  return result;
}

function parseBool(value: string, name: string, file: string, current: boolean, warnings: string[]): boolean {
  if (value === 'true') return true;
  if (value === 'false') return false;
  warnings.push(`${file}: ${name} = "${value}" is not true or false; Nix would refuse it, keeping ${current}`);
  return current;
}
