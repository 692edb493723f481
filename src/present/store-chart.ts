import { deflateSync } from 'node:zlib';
import type { StoreHistoryEntry } from '../reports/store-history.js';

/** What the chart's colours mean, for the message it is attached to. */
export const STORE_CHART_LEGEND = 'blue: store size (sum of NAR sizes), green: free disk space';

export interface StoreChartOptions {
  /** Image width in pixels. @defaultValue 360 */
  width?: number;
  /** Image height in pixels. @defaultValue 140 */
  height?: number;
}

type Rgb = readonly [number, number, number];
const WHITE: Rgb = [255, 255, 255];
const GRID: Rgb = [225, 225, 225];
const AXIS: Rgb = [150, 150, 150];
const TEXT: Rgb = [90, 90, 90];
/** Store size. */
export const STORE_COLOR: Rgb = [31, 119, 180];
/** Free disk space. */
export const FREE_COLOR: Rgb = [44, 160, 44];

/**
 * A small PNG line chart of one host's store size and free disk space over its reports (oldest
 * first), both on one byte scale from 0, with the scale's top written in the corner. Built pixel by
 * pixel and compressed with node:zlib: no image library.
 */
export function renderStoreChart(entries: StoreHistoryEntry[], options: StoreChartOptions = {}): Buffer {
  const width = Math.max(80, Math.floor(options.width ?? 360));
  const height = Math.max(50, Math.floor(options.height ?? 140));
  const canvas = createCanvas(width, height);
  const left = 40;
  const right = width - 8;
  const top = 8;
  const bottom = height - 12;

  const max = Math.max(1, ...entries.flatMap((e) => [e.narBytes, e.freeBytes]));
  const scaleTop = max * 1.1;
  for (let k = 0; k <= 4; k++) {
    const y = Math.round(bottom - ((bottom - top) * k) / 4);
    canvas.line(left, y, right, y, k === 0 ? AXIS : GRID, 1);
  }
  canvas.line(left, top, left, bottom, AXIS, 1);
  canvas.text(2, top, compactBytes(scaleTop), TEXT);
  canvas.text(2, bottom - 10, '0', TEXT);

  const [head] = entries;
  if (head !== undefined) {
    const first = head.at;
    const span = (entries.at(-1) ?? head).at - first;
    const xOf = (at: number): number => (span <= 0 ? Math.round((left + right) / 2) : Math.round(left + 3 + ((right - left - 6) * (at - first)) / span));
    const yOf = (bytes: number): number => Math.round(bottom - ((bottom - top) * bytes) / scaleTop);
    for (const [pick, color] of [
      [(e: StoreHistoryEntry) => e.freeBytes, FREE_COLOR],
      [(e: StoreHistoryEntry) => e.narBytes, STORE_COLOR],
    ] as const) {
      let previous: StoreHistoryEntry | undefined;
      for (const entry of entries) {
        const x = xOf(entry.at);
        const y = yOf(pick(entry));
        canvas.rect(x - 1, y - 1, 3, 3, color);
        if (previous !== undefined) canvas.line(xOf(previous.at), yOf(pick(previous)), x, y, color, 2);
        previous = entry;
      }
    }
  }
  return encodePng(width, height, canvas.pixels);
}

const SPARKS = '▁▂▃▄▅▆▇█';

/** A one-line chart of the values in Unicode blocks (`▁▃▅█`), lowest to highest; '' for none. */
export function renderSparkline(values: number[]): string {
  const finite = values.filter((v) => Number.isFinite(v));
  if (finite.length === 0) return '';
  const min = Math.min(...finite);
  const max = Math.max(...finite);
  return values
    .map((v) => {
      if (!Number.isFinite(v)) return ' ';
      if (max === min) return SPARKS[3];
      return SPARKS[Math.min(7, Math.floor(((v - min) / (max - min)) * 8))];
    })
    .join('');
}

/** Encodes 8-bit RGB pixels (row by row, 3 bytes each) as a PNG file. */
export function encodePng(width: number, height: number, rgb: Uint8Array): Buffer {
  const raw = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) {
    raw[y * (width * 3 + 1)] = 0; // filter: none
    raw.set(rgb.subarray(y * width * 3, (y + 1) * width * 3), y * (width * 3 + 1) + 1);
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bits per sample
  header[9] = 2; // truecolour RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', header),
    pngChunk('IDAT', deflateSync(raw, { level: 9 })),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

function pngChunk(type: string, data: Buffer): Buffer {
  const chunk = Buffer.alloc(12 + data.length);
  chunk.writeUInt32BE(data.length, 0);
  chunk.write(type, 4, 'ascii');
  data.copy(chunk, 8);
  chunk.writeUInt32BE(crc32(chunk.subarray(4, 8 + data.length)), 8 + data.length);
  return chunk;
}

let crcTable: Uint32Array | undefined;

/** CRC-32 as PNG chunks need it. */
export function crc32(bytes: Uint8Array): number {
  if (crcTable === undefined) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (const byte of bytes) crc = crcTable[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** "1.2T", "350G", "12M": bytes in at most four characters, for the chart's scale. */
export function compactBytes(bytes: number): string {
  const units = ['', 'K', 'M', 'G', 'T', 'P'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  const digits = value < 10 && unit > 0 ? value.toFixed(1) : String(Math.round(value));
  return `${digits}${units[unit]}`;
}

/** 3x5 glyphs (rows top to bottom, three bits each) for the chart's labels. */
const GLYPHS: Record<string, number[]> = {
  '0': [7, 5, 5, 5, 7],
  '1': [2, 6, 2, 2, 7],
  '2': [7, 1, 7, 4, 7],
  '3': [7, 1, 7, 1, 7],
  '4': [5, 5, 7, 1, 1],
  '5': [7, 4, 7, 1, 7],
  '6': [7, 4, 7, 5, 7],
  '7': [7, 1, 1, 1, 1],
  '8': [7, 5, 7, 5, 7],
  '9': [7, 5, 7, 1, 7],
  '.': [0, 0, 0, 0, 2],
  K: [5, 5, 6, 5, 5],
  M: [5, 7, 7, 5, 5],
  G: [7, 4, 5, 5, 7],
  T: [7, 2, 2, 2, 2],
  P: [7, 5, 7, 4, 4],
};

interface Canvas {
  pixels: Uint8Array;
  set: (x: number, y: number, color: Rgb) => void;
  rect: (x: number, y: number, w: number, h: number, color: Rgb) => void;
  line: (x0: number, y0: number, x1: number, y1: number, color: Rgb, thickness: number) => void;
  text: (x: number, y: number, text: string, color: Rgb) => void;
}

function createCanvas(width: number, height: number): Canvas {
  const pixels = new Uint8Array(width * height * 3);
  for (let i = 0; i < pixels.length; i += 3) pixels.set(WHITE, i);
  const set = (x: number, y: number, color: Rgb): void => {
    if (x < 0 || y < 0 || x >= width || y >= height) return;
    pixels.set(color, (y * width + x) * 3);
  };
  const rect = (x: number, y: number, w: number, h: number, color: Rgb): void => {
    for (let dy = 0; dy < h; dy++) for (let dx = 0; dx < w; dx++) set(x + dx, y + dy, color);
  };
  const line = (x0: number, y0: number, x1: number, y1: number, color: Rgb, thickness: number): void => {
    // Bresenham, thickened downwards and to the right.
    const dx = Math.abs(x1 - x0);
    const dy = -Math.abs(y1 - y0);
    const sx = x0 < x1 ? 1 : -1;
    const sy = y0 < y1 ? 1 : -1;
    let err = dx + dy;
    let x = x0;
    let y = y0;
    for (;;) {
      rect(x, y, thickness, thickness, color);
      if (x === x1 && y === y1) return;
      const e2 = 2 * err;
      if (e2 >= dy) {
        err += dy;
        x += sx;
      }
      if (e2 <= dx) {
        err += dx;
        y += sy;
      }
    }
  };
  const text = (x: number, y: number, label: string, color: Rgb): void => {
    let cursor = x;
    for (const char of label) {
      const glyph = GLYPHS[char];
      if (glyph !== undefined) {
        glyph.forEach((row, r) => {
          for (let c = 0; c < 3; c++) if (row & (4 >> c)) rect(cursor + c * 2, y + r * 2, 2, 2, color);
        });
      }
      cursor += 8;
    }
  };
  return { pixels, set, rect, line, text };
}
