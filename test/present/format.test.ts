import { describe, expect, it } from 'vitest';
import { formatAge, formatBytes, formatCount, formatSignedBytes, formatSpan, formatUntil } from '../../src/present/format.js';

const GiB = 1024 ** 3;

describe('formatBytes', () => {
  it('uses binary units with one decimal below 10', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(12.1 * GiB)).toBe('12 GiB');
    expect(formatBytes(180 * GiB)).toBe('180 GiB');
    expect(formatBytes(-3 * GiB)).toBe('-3.0 GiB');
  });
});

describe('formatSignedBytes', () => {
  it('shows the sign of a change', () => {
    expect(formatSignedBytes(GiB)).toBe('+1.0 GiB');
    expect(formatSignedBytes(-GiB)).toBe('-1.0 GiB');
    expect(formatSignedBytes(0)).toBe('0 B');
  });
});

describe('formatCount', () => {
  it('separates thousands', () => {
    expect(formatCount(1234567)).toBe('1,234,567');
  });
});

describe('formatAge', () => {
  it('says how long ago, in seconds, minutes, hours or days', () => {
    expect(formatAge(0.5)).toBe('just now');
    expect(formatAge(45)).toBe('45s ago');
    expect(formatAge(5 * 60)).toBe('5m ago');
    expect(formatAge(3 * 3600)).toBe('3h ago');
    expect(formatAge(3 * 86400)).toBe('3d ago');
  });
});

describe('formatUntil', () => {
  it('says how long until, and never a negative wait', () => {
    expect(formatUntil(45_000)).toBe('in 45s');
    expect(formatUntil(5 * 60_000)).toBe('in 5m');
    expect(formatUntil(16 * 3600_000)).toBe('in 16h');
    expect(formatUntil(3 * 86400_000)).toBe('in 3d');
    expect(formatUntil(-1000)).toBe('in 0s');
  });
});

describe('formatSpan', () => {
  it('picks minutes, hours or days', () => {
    expect(formatSpan(40 * 60_000)).toBe('40 min');
    expect(formatSpan(5 * 3600_000)).toBe('5 h');
    expect(formatSpan(7 * 24 * 3600_000)).toBe('7 days');
  });
});
