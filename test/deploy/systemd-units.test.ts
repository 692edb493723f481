import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { looksSecret, readConfigEnv, repoRoot } from './config-env.js';
import { defined } from '../helpers/defined.js';
import { makePackageDir, mustEvalNixos, serviceOf, verifyUnits } from './eval-nixos.js';

const env = readConfigEnv();
const dir = path.join(repoRoot, 'deploy/systemd');
const read = (file: string) => readFileSync(path.join(dir, file), 'utf8');

/** A unit file as section -> key -> the values of its lines, in order. */
function parseUnit(text: string): Record<string, Record<string, string[]>> {
  const sections: Record<string, Record<string, string[]>> = {};
  let current: Record<string, string[]> | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      current = sections[header[1] ?? ''] = {};
      continue;
    }
    const eq = line.indexOf('=');
    if (!current || eq < 0) throw new Error(`not a unit line: ${line}`);
    const key = line.slice(0, eq);
    (current[key] ??= []).push(line.slice(eq + 1));
  }
  return sections;
}

/** Values as systemd reads them: space-separated lists split, except where each line is its own filter. */
function normalize(key: string, values: string[]): string[] {
  if (key === 'SystemCallFilter') return values;
  return values.flatMap((v) => v.split(/\s+/).filter((t) => t !== ''));
}

function nixValues(value: string | number | boolean | string[]): string[] {
  const list = Array.isArray(value) ? value : [value];
  return list.map((v) => (typeof v === 'boolean' ? (v ? 'true' : 'false') : String(v)));
}

/** Lines of an env file example that set (or show, commented) a variable. */
function envExampleNames(text: string): Map<string, { value: string; commented: boolean }> {
  const names = new Map<string, { value: string; commented: boolean }>();
  for (const match of text.matchAll(/^(#?)([A-Z][A-Z0-9_]*)=(.*)$/gm)) {
    names.set(match[2] ?? '', { value: match[3] ?? '', commented: match[1] === '#' });
  }
  return names;
}

const nixos = mustEvalNixos('{ services.runnerops.bot.enable = true; services.runnerops.worker.enable = true; virtualisation.docker.enable = true; }');
/** Settings that differ by design between a NixOS host and a plain one (paths, how the binary is found). */
const PER_DEPLOYMENT = new Set([
  'Type',
  'ExecStart',
  'EnvironmentFile',
  'ReadWritePaths',
  'LogsDirectory',
  'LogsDirectoryMode',
  'LoadCredential',
  'Environment',
]);

for (const process of ['bot', 'worker'] as const) {
  const unitFile = `runnerops-${process}.service`;
  const unit = parseUnit(read(unitFile));
  const service = defined(unit.Service, `a [Service] section in ${unitFile}`);
  const exampleFile = `${process}.env.example`;
  const example = envExampleNames(read(exampleFile));

  describe(`deploy/systemd/${exampleFile}`, () => {
    it(`lists every variable src/config.ts reads for ${process}`, () => {
      expect([...example.keys()].sort()).toEqual(env[process]);
    });

    it('holds no real secret, only placeholders', () => {
      const secrets = [...example].filter(([name]) => looksSecret(name));
      expect(secrets.map(([name]) => name).sort()).toEqual(env[process].filter(looksSecret));
      for (const [name, { value }] of secrets) {
        expect(value === '' || value.endsWith('REPLACE-ME'), `${name}=${value}`).toBe(true);
      }
    });
  });

  describe(`deploy/systemd/${unitFile}`, () => {
    it(`starts runnerops ${process} with /etc/runnerops/${process}.env`, () => {
      expect(service.ExecStart).toEqual([`/usr/local/bin/runnerops ${process}`]);
      expect(service.EnvironmentFile).toEqual([`/etc/runnerops/${process}.env`]);
      expect(unit.Install?.WantedBy).toEqual(['multi-user.target']);
    });

    it('has the same hardening as the NixOS module, key for key', () => {
      const fromNix = serviceOf(nixos.services, `runnerops-${process}`).serviceConfig;
      const nixKeys = Object.keys(fromNix)
        .filter((k) => !PER_DEPLOYMENT.has(k))
        .sort();
      const plainKeys = Object.keys(service)
        .filter((k) => !PER_DEPLOYMENT.has(k))
        .sort();
      expect(plainKeys).toEqual(nixKeys);
      for (const key of nixKeys) {
        expect(normalize(key, service[key] ?? []), key).toEqual(normalize(key, nixValues(fromNix[key] ?? [])));
      }
    });

    it('passes systemd-analyze verify without a warning', () => {
      const packageDir = makePackageDir();
      const text = read(unitFile).replace('ExecStart=/usr/local/bin/runnerops', `ExecStart=${packageDir}/bin/runnerops`);
      const { status, output } = verifyUnits({ [unitFile]: text });
      expect(output).toBe('');
      expect(status).toBe(0);
    });
  });
}

describe('deploy/systemd/runnerops-worker.service write access', () => {
  it("may write its state directory and the directory of its example's GITLAB_RUNNER_CONFIG, nothing else", () => {
    const service = defined(parseUnit(read('runnerops-worker.service')).Service, 'a [Service] section in runnerops-worker.service');
    const runnerConfig = envExampleNames(read('worker.env.example')).get('GITLAB_RUNNER_CONFIG');
    expect(runnerConfig?.commented).toBe(false);
    expect(normalize('ReadWritePaths', service.ReadWritePaths ?? [])).toEqual(['/var/lib/runnerops', `-${path.dirname(runnerConfig?.value ?? '')}`]);
  });
});
