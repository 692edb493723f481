import { inflateSync } from 'node:zlib';
import { encodePng } from './store-chart.js';

interface Image {
  width: number;
  height: number;
  rgb: Uint8Array;
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** Decodes an 8-bit, non-interlaced RGB PNG (what store-chart's encodePng writes), any row filter. */
export function decodeRgbPng(png: Buffer): Image {
  let width = 0;
  let height = 0;
  const idat: Buffer[] = [];
  for (let at = 8; at + 8 <= png.length; ) {
    const length = png.readUInt32BE(at);
    const type = png.toString('ascii', at + 4, at + 8);
    const data = png.subarray(at + 8, at + 8 + length);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      if (data[8] !== 8 || data[9] !== 2 || data[12] !== 0) throw new Error('only 8-bit RGB PNGs without interlacing can be stacked');
    } else if (type === 'IDAT') {
      idat.push(data);
    }
    at += 12 + length;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * 3;
  const rgb = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let x = 0; x < stride; x++) {
      const left = x >= 3 ? rgb[y * stride + x - 3]! : 0;
      const up = y > 0 ? rgb[(y - 1) * stride + x]! : 0;
      const upLeft = x >= 3 && y > 0 ? rgb[(y - 1) * stride + x - 3]! : 0;
      const predictor = filter === 1 ? left : filter === 2 ? up : filter === 3 ? (left + up) >> 1 : filter === 4 ? paeth(left, up, upLeft) : 0;
      rgb[y * stride + x] = ((line[x] ?? 0) + predictor) & 0xff;
    }
  }
  return { width, height, rgb };
}

/**
 * One PNG of several charts stacked top to bottom on white with `gap` pixels between them (narrower
 * ones are padded on the right), so a report can attach every host's chart as one file.
 */
export function stackPngs(pngs: Buffer[], gap = 8): Buffer {
  const images = pngs.map(decodeRgbPng);
  const width = Math.max(1, ...images.map((i) => i.width));
  const height = Math.max(1, images.reduce((sum, i) => sum + i.height, 0) + gap * Math.max(0, images.length - 1));
  const rgb = new Uint8Array(width * height * 3).fill(255);
  let top = 0;
  for (const image of images) {
    for (let y = 0; y < image.height; y++) rgb.set(image.rgb.subarray(y * image.width * 3, (y + 1) * image.width * 3), (top + y) * width * 3);
    top += image.height + gap;
  }
  return encodePng(width, height, rgb);
}
