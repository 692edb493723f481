import { describe, expect, it } from 'vitest';
import { codeBlocks, escapeText, fallbackText, fit, inlineCode, md, mention, packCodeLines } from '../../src/present/mrkdwn.js';
import { controlSequences } from '../fakes/slack/mrkdwn-syntax.js';

const HOSTILE = ['<!channel>', '<!here>', '<!everyone>', '<@U0VICTIM>', '<https://evil.example|docs>', '<!subteam^S0OPS>', 'a & b < c > d'];

describe('md', () => {
  it('escapes every interpolated string so nothing a person typed renders as a mention or link', () => {
    for (const text of HOSTILE) {
      const out = md`*${text}* asks`;
      expect(controlSequences(out.text)).toEqual([]);
    }
  });

  it('keeps Slack syntax that the app made on purpose', () => {
    expect(md`${mention('U0REAL')} approved`.text).toBe('<@U0REAL> approved');
    expect(mention('<!channel>').text).toBe('&lt;!channel&gt;');
  });
});

describe('fit', () => {
  it('never cuts an escape in half', () => {
    const text = escapeText('&'.repeat(100));
    for (let max = 2; max < 60; max++) {
      const cut = fit(text, max).text;
      expect(cut.length).toBeLessThanOrEqual(max);
      expect(cut.replace(/…$/, '')).toMatch(/^(&amp;)*$/);
    }
  });

  it('never cuts a mention in half', () => {
    const cut = fit(md`${'x'.repeat(10)}${mention('U0ABCDEFGH')}`, 15).text;
    expect(cut).toBe('xxxxxxxxxx…');
  });
});

describe('codeBlocks', () => {
  it('measures the limit after escaping', () => {
    const text = Array.from({ length: 200 }, () => '& < > refused'.repeat(3)).join('\n');
    const blocks = codeBlocks(text, 3000);
    expect(blocks.length).toBeGreaterThan(1);
    for (const block of blocks) expect(block.length).toBeLessThanOrEqual(3000);
    expect(blocks.map((b) => b.text).join('')).not.toMatch(/[<>]|&(?!amp;|lt;|gt;)/);
  });

  it('cuts a single line longer than a block with an ellipsis', () => {
    const [only] = codeBlocks('&'.repeat(5000), 3000);
    expect(only!.length).toBeLessThanOrEqual(3000);
    expect(only!.text.endsWith('…```')).toBe(true);
  });

  it('reports how many lines each block holds', () => {
    const lines = Array.from({ length: 100 }, (_, i) => `row ${i} ${'&'.repeat(50)}`);
    const packed = packCodeLines(lines, 3000);
    expect(packed.reduce((n, p) => n + p.lines, 0)).toBe(100);
  });
});

describe('inlineCode', () => {
  it('cannot be closed early by a backtick', () => {
    expect(inlineCode('rotate `*bold*`').text).toBe("`rotate '*bold*'`");
  });
});

describe('fallbackText', () => {
  it('is the escaped first line, at most 300 characters', () => {
    expect(fallbackText('<!here> first\nsecond')).toBe('&lt;!here&gt; first');
    expect(fallbackText('&'.repeat(400)).length).toBeLessThanOrEqual(300);
  });
});
