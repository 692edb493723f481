import { deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { crc32, encodePng, renderStoreChart } from '../../src/present/store-chart.js';
import { decodeRgbPng, stackPngs } from '../../src/present/stack-png.js';

function chunk(type: string, data: Buffer): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'ascii');
  data.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/** A PNG whose rows use the filter types 0-4 in turn, as other encoders write them. */
function filteredPng(width: number, height: number, rgb: Uint8Array): Buffer {
  const stride = width * 3;
  const raw = Buffer.alloc((stride + 1) * height);
  const at = (x: number, y: number) => (x < 0 || y < 0 ? 0 : rgb[y * stride + x]!);
  for (let y = 0; y < height; y++) {
    const filter = y % 5;
    raw[y * (stride + 1)] = filter;
    for (let x = 0; x < stride; x++) {
      const a = at(x - 3, y);
      const b = at(x, y - 1);
      const c = at(x - 3, y - 1);
      const p = a + b - c;
      const paeth = Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c) ? a : Math.abs(p - b) <= Math.abs(p - c) ? b : c;
      const predictor = [0, a, b, (a + b) >> 1, paeth][filter] ?? 0;
      raw[y * (stride + 1) + 1 + x] = (at(x, y) - predictor) & 0xff;
    }
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8;
  header[9] = 2;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

describe('decodeRgbPng', () => {
  it('reads back the pixels of rows written with every PNG filter type', () => {
    const rgb = Uint8Array.from({ length: 7 * 10 * 3 }, (_, i) => (i * 37 + (i >> 4) * 11) & 0xff);
    expect(decodeRgbPng(filteredPng(7, 10, rgb))).toEqual({ width: 7, height: 10, rgb });
  });
});

describe('stackPngs', () => {
  it('stacks charts top to bottom with a white gap, padding narrower ones on the right', () => {
    const history = [
      { at: 1, paths: 1, narBytes: 100, garbagePaths: 0, garbageBytes: 0, freeBytes: 300, totalBytes: 1000 },
      { at: 2, paths: 2, narBytes: 200, garbagePaths: 0, garbageBytes: 0, freeBytes: 250, totalBytes: 1000 },
    ];
    const wide = renderStoreChart(history);
    const narrow = encodePng(2, 3, new Uint8Array(2 * 3 * 3).fill(7));
    const stacked = decodeRgbPng(stackPngs([wide, narrow], 8));
    const first = decodeRgbPng(wide);
    expect(stacked.width).toBe(360);
    expect(stacked.height).toBe(140 + 8 + 3);
    expect(stacked.rgb.subarray(0, first.rgb.length)).toEqual(first.rgb);
    const row = (y: number) => stacked.rgb.subarray(y * 360 * 3, (y + 1) * 360 * 3);
    expect(row(144).every((v) => v === 255)).toBe(true);
    expect([...row(148).subarray(0, 6)]).toEqual([7, 7, 7, 7, 7, 7]);
    expect(
      row(148)
        .subarray(6)
        .every((v) => v === 255),
    ).toBe(true);
  });
});
