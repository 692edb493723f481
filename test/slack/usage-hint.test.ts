import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { VERBS } from '../../src/commands/verbs.js';
import { MAX_USAGE_HINT, usageHint } from '../../src/slack/usage-hint.js';

const manifestPath = path.resolve(import.meta.dirname, '../../deploy/slack/manifest.yml');
const manifest = parse(readFileSync(manifestPath, 'utf8')) as {
  features: { slash_commands: Array<{ command: string; usage_hint: string; description: string }> };
};
const runner = manifest.features.slash_commands.find((c) => c.command === '/runner')!;

describe('usageHint', () => {
  it('names every verb of the grammar with its arguments', () => {
    const hint = usageHint();
    for (const spec of VERBS) expect(hint.split(' | ')).toContain([spec.verb, ...spec.args].join(' '));
    expect(hint.length).toBeLessThanOrEqual(MAX_USAGE_HINT);
  });

  it('is what deploy/slack/manifest.yml shows as the /runner usage hint', () => {
    expect(runner.usage_hint).toBe(usageHint());
  });
});
