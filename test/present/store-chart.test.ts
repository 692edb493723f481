import { inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { FREE_COLOR, STORE_COLOR, compactBytes, crc32, encodePng, renderSparkline, renderStoreChart } from '../../src/present/store-chart.js';
import type { StoreHistoryEntry } from '../../src/reports/store-history.js';

/** Decodes what encodePng writes (8-bit RGB, filter 0), checking every chunk's CRC. */
function decodePng(png: Buffer): { width: number; height: number; pixel: (x: number, y: number) => number[] } {
  expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  let offset = 8;
  let width = 0;
  let height = 0;
  const idat: Buffer[] = [];
  while (offset < png.length) {
    const length = png.readUInt32BE(offset);
    const type = png.toString('ascii', offset + 4, offset + 8);
    const data = png.subarray(offset + 8, offset + 8 + length);
    expect(png.readUInt32BE(offset + 8 + length)).toBe(crc32(png.subarray(offset + 4, offset + 8 + length)));
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      expect([data[8], data[9]]).toEqual([8, 2]);
    }
    if (type === 'IDAT') idat.push(data);
    offset += 12 + length;
  }
  const raw = inflateSync(Buffer.concat(idat));
  expect(raw.length).toBe((width * 3 + 1) * height);
  return {
    width,
    height,
    pixel: (x, y) => [...raw.subarray(y * (width * 3 + 1) + 1 + x * 3, y * (width * 3 + 1) + 1 + x * 3 + 3)],
  };
}

const GiB = 1024 ** 3;
const week = (n: number, store: number, free: number): StoreHistoryEntry => ({
  at: Date.UTC(2026, 0, 1) + n * 7 * 24 * 3600 * 1000,
  paths: 1000,
  narBytes: store * GiB,
  garbagePaths: 0,
  garbageBytes: 0,
  freeBytes: free * GiB,
  totalBytes: 200 * GiB,
});

/** Rows (top = 0) where column x has the colour. */
function rowsWith(image: ReturnType<typeof decodePng>, x: number, color: readonly number[]): number[] {
  const rows: number[] = [];
  for (let y = 0; y < image.height; y++) if (image.pixel(x, y).join() === color.join()) rows.push(y);
  return rows;
}

describe('renderStoreChart', () => {
  it('draws a valid PNG of the asked size', () => {
    const image = decodePng(renderStoreChart([week(0, 10, 100)], { width: 200, height: 90 }));
    expect([image.width, image.height]).toEqual([200, 90]);
  });

  it('draws store size rising and free space falling from left to right', () => {
    const image = decodePng(renderStoreChart([week(0, 20, 150), week(1, 60, 110), week(2, 100, 70)]));
    const firstX = 40 + 3;
    const lastX = image.width - 8 - 3;
    const storeLeft = Math.min(...rowsWith(image, firstX, STORE_COLOR));
    const storeRight = Math.min(...rowsWith(image, lastX, STORE_COLOR));
    const freeLeft = Math.min(...rowsWith(image, firstX, FREE_COLOR));
    const freeRight = Math.min(...rowsWith(image, lastX, FREE_COLOR));
    expect(storeRight).toBeLessThan(storeLeft);
    expect(freeRight).toBeGreaterThan(freeLeft);
    expect(freeLeft).toBeLessThan(storeLeft);
  });

  it('draws an empty frame when there are no reports', () => {
    const image = decodePng(renderStoreChart([]));
    expect(rowsWith(image, 100, STORE_COLOR)).toEqual([]);
    expect(image.width).toBe(360);
  });
});

describe('encodePng', () => {
  it('stores the pixels it is given', () => {
    const rgb = new Uint8Array([255, 0, 0, 0, 255, 0, 0, 0, 255, 1, 2, 3]);
    const image = decodePng(encodePng(2, 2, rgb));
    expect([image.pixel(0, 0), image.pixel(1, 0), image.pixel(0, 1), image.pixel(1, 1)]).toEqual([
      [255, 0, 0],
      [0, 255, 0],
      [0, 0, 255],
      [1, 2, 3],
    ]);
  });
});

describe('crc32', () => {
  it('gives the standard check value', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
  });
});

describe('renderSparkline', () => {
  it('maps the lowest value to the lowest block and the highest to the full block', () => {
    expect(renderSparkline([1, 5, 9])).toBe('▁▅█');
  });

  it('draws a flat line for equal values and nothing for no values', () => {
    expect(renderSparkline([3, 3, 3])).toBe('▄▄▄');
    expect(renderSparkline([])).toBe('');
  });
});

describe('compactBytes', () => {
  it('writes the scale in a few characters', () => {
    expect(compactBytes(0)).toBe('0');
    expect(compactBytes(1.5 * GiB)).toBe('1.5G');
    expect(compactBytes(350 * GiB)).toBe('350G');
    expect(compactBytes(2 * 1024 * GiB)).toBe('2.0T');
  });
});
