/** The formats of every figure runnerops shows, in Slack messages, cards, reports and the terminal alike. */

/** How long ago something happened, from seconds: `just now`, `45s ago`, `5m ago`, `3h ago`, `2d ago`. */
export function formatAge(seconds: number): string {
  if (seconds < 1) return 'just now';
  if (seconds < 90) return `${Math.round(seconds)}s ago`;
  if (seconds < 5400) return `${Math.round(seconds / 60)}m ago`;
  if (seconds < 172800) return `${Math.round(seconds / 3600)}h ago`;
  return `${Math.round(seconds / 86400)}d ago`;
}

/** How long until something happens, from milliseconds: `in 45s`, `in 5m`, `in 16h`, `in 3d` (`in 0s` once due). */
export function formatUntil(ms: number): string {
  const seconds = Math.max(0, ms / 1000);
  if (seconds < 90) return `in ${Math.round(seconds)}s`;
  if (seconds < 5400) return `in ${Math.round(seconds / 60)}m`;
  if (seconds < 172800) return `in ${Math.round(seconds / 3600)}h`;
  return `in ${Math.round(seconds / 86400)}d`;
}

/** A time span from milliseconds, in the largest unit that fits: `40 min`, `5 h`, `7 days`. */
export function formatSpan(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  if (minutes < 90) return `${Math.max(minutes, 0)} min`;
  const hours = Math.round(minutes / 60);
  if (hours < 48) return `${hours} h`;
  return `${Math.round(hours / 24)} days`;
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** Bytes for people, in binary units, one decimal below 10: `512 B`, `1.5 KiB`, `12 GiB`, `180 GiB`. */
export function formatBytes(bytes: number): string {
  let value = Math.abs(bytes);
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  const text = unit === 0 ? String(Math.round(value)) : value.toFixed(value < 10 ? 1 : 0);
  return `${bytes < 0 ? '-' : ''}${text} ${UNITS[unit]}`;
}

/** A change in bytes with its sign: `+1.2 GiB`, `-300 MiB`, `0 B`. */
export function formatSignedBytes(bytes: number): string {
  return bytes > 0 ? `+${formatBytes(bytes)}` : formatBytes(bytes);
}

/** A count with thousands separators: `100,000`. */
export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

export function formatMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.round(ms / 60_000)} min`;
}

/** Left-aligned columns for plain-text tables (Slack shows them in a code block). */
export function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ')).join('\n');
}
