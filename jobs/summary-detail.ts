/**
 * What a host's card row does not show of its summary: a row shows the first line, so a one-host
 * command's total carries the rest (a store report's sections, the paths a gc deletes).
 */
export function belowFirstLine(summary: string): string {
  return summary.split('\n').slice(1).join('\n');
}
