import { UserError } from '../errors.js';

const UNITS = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };
const DURATION = /^(\d{1,6})(s|m|h|d|w)$/;

/** Parses "90s", "15m", "24h", "7d", "2w" into seconds; anything else is a one-line error. */
export function parseDuration(text: string, flag: string): number {
  const match = DURATION.exec(text.trim());
  if (!match) {
    throw new UserError(`${flag} "${clip(text)}" is not a duration; use a number with s, m, h, d or w (e.g. 24h)`);
  }
  const seconds = Number(match[1]) * UNITS[match[2] as keyof typeof UNITS]; // DURATION admits only these units
  if (seconds <= 0) throw new UserError(`${flag} must be more than zero`);
  return seconds;
}

/** Renders seconds as the largest whole unit, e.g. 86400 -> "1d", 90 -> "90s". */
export function formatDuration(seconds: number): string {
  for (const unit of ['w', 'd', 'h', 'm'] as const) {
    if (seconds % UNITS[unit] === 0 && seconds >= UNITS[unit]) return `${seconds / UNITS[unit]}${unit}`;
  }
  return `${seconds}s`;
}

/** Keeps echoed user input short and on one line. */
export function clip(text: string, max = 40): string {
  const oneLine = text.replace(/[\r\n\t]+/g, ' ');
  return oneLine.length > max ? `${oneLine.slice(0, max - 1)}…` : oneLine;
}
