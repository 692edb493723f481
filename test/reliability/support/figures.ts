import { appendFileSync } from 'node:fs';
import path from 'node:path';
import { runDir } from './run-dir.js';

import type { Figure } from './figure-format.js';

/** Records a figure (and prints it at once, so a long run shows progress). */
export function recordFigure(figure: Figure): void {
  appendFileSync(path.join(runDir(), 'figures.jsonl'), `${JSON.stringify(figure)}\n`);
  console.log(`[${figure.scenario}] ${figure.name}: ${figure.value}${figure.next ? `  (${figure.next})` : ''}`);
}

/** Nearest-rank percentile. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
}

export function ms(value: number): string {
  return value >= 10_000 ? `${(value / 1000).toFixed(1)} s` : `${Math.round(value)} ms`;
}

export function mib(kib: number): string {
  return `${(kib / 1024).toFixed(0)} MiB`;
}
