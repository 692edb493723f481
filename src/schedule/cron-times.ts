import cronParser from 'cron-parser';
import { UserError } from '../errors.js';

/** What a schedule needs to compute its occurrences (the policy's `cron` and `timezone`). */
export interface CronSpec {
  name: string;
  cron: string;
  timezone: string;
}

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/**
 * Checks a schedule's cron pattern (5 fields, or 6 with seconds first, as BullMQ reads them) and its IANA
 * time zone; throws a UserError naming the schedule and what to fix.
 */
export function checkCron(spec: CronSpec): void {
  if (!isTimeZone(spec.timezone)) {
    throw new UserError(`schedule "${spec.name}": timezone "${spec.timezone}" is not an IANA time zone; use e.g. UTC or Europe/Berlin`);
  }
  try {
    cronParser.parseExpression(spec.cron, { tz: spec.timezone }).next();
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new UserError(`schedule "${spec.name}": cron "${spec.cron}" is not valid (${why}); expected e.g. "0 3 * * *"`);
  }
}

/** The latest occurrence at or before `now` (ms since epoch). */
export function latestOccurrence(spec: CronSpec, now: number): number {
  return cronParser
    .parseExpression(spec.cron, { tz: spec.timezone, currentDate: new Date(now + 1) })
    .prev()
    .getTime();
}

/** The first occurrence strictly after `now` (ms since epoch). */
export function nextOccurrence(spec: CronSpec, now: number): number {
  return cronParser
    .parseExpression(spec.cron, { tz: spec.timezone, currentDate: new Date(now) })
    .next()
    .getTime();
}

/** `2025-01-16 03:00 Europe/Berlin` (seconds shown only when not zero). */
export function formatInZone(ms: number, timezone: string): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-GB', {
      timeZone: timezone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    })
      .formatToParts(new Date(ms))
      .map((p) => [p.type, p.value]),
  ) as Record<string, string>;
  const seconds = parts.second !== '00' ? `:${parts.second}` : '';
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}${seconds} ${timezone}`;
}
