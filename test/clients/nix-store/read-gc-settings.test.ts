import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultNixConfFile, readGcSettings } from '../../../src/clients/nix-store/read-gc-settings.js';

let dir: string;
beforeAll(async () => {
  dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'runnerops-nixconf-'));
});
afterAll(async () => {
  await fs.promises.rm(dir, { recursive: true, force: true });
});

function write(name: string, text: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

describe('readGcSettings', () => {
  it("uses Nix's defaults when the file does not exist", () => {
    expect(readGcSettings(path.join(dir, 'absent.conf'))).toMatchObject({ keepOutputs: false, keepDerivations: true, found: false, warnings: [] });
  });

  it('reads both settings, ignoring comments, with later lines winning', () => {
    const file = write('a.conf', 'keep-outputs = true # for direnv\nkeep-derivations=false\n# keep-outputs = false\nkeep-derivations = true\n');
    expect(readGcSettings(file)).toMatchObject({ keepOutputs: true, keepDerivations: true, found: true });
  });

  it('knows the old gc- names', () => {
    const file = write('b.conf', 'gc-keep-outputs = true\ngc-keep-derivations = false\n');
    expect(readGcSettings(file)).toMatchObject({ keepOutputs: true, keepDerivations: false });
  });

  it('follows include relative to the file and skips a missing !include', () => {
    write('extra.conf', 'keep-outputs = true\n');
    const file = write('c.conf', 'include extra.conf\n!include nowhere.conf\n');
    expect(readGcSettings(file)).toMatchObject({ keepOutputs: true, warnings: [] });
  });

  it('warns about a missing include and a value that is not a boolean', () => {
    const file = write('d.conf', 'include nowhere.conf\nkeep-outputs = yes\n');
    const settings = readGcSettings(file);
    expect(settings.keepOutputs).toBe(false);
    expect(settings.warnings).toHaveLength(2);
    expect(settings.warnings[1]).toMatch(/keep-outputs = "yes" is not true or false/);
  });
});

describe('defaultNixConfFile', () => {
  it('uses NIX_CONF_DIR when set, else /etc/nix', () => {
    expect(defaultNixConfFile({ NIX_CONF_DIR: '/etc/nix-daemon' })).toBe('/etc/nix-daemon/nix.conf');
    expect(defaultNixConfFile({})).toBe('/etc/nix/nix.conf');
  });
});
