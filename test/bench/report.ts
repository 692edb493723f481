/** What a benchmark prints: its measurements, each next to the baseline measured in the same run. */
export interface BenchLine {
  /** What was measured, e.g. "prune-docker vs docker system prune". */
  name: string;
  /** Our figure, with unit, e.g. "812 ms". */
  ours: string;
  /** The baseline's figure in the same run, when there is one. */
  baseline?: string;
  /** ours/baseline (or the ratio the issue names), e.g. 0.93. */
  ratio?: number;
  /** The goal in words, e.g. "<= 1.1x". */
  goal?: string;
  /** Whether the goal was met. */
  met?: boolean;
}

export interface BenchSuite {
  name: string;
  run: () => Promise<BenchLine[]>;
}

export function formatLine(line: BenchLine): string {
  const parts = [`${line.name}: ${line.ours}`];
  if (line.baseline !== undefined) parts.push(`baseline ${line.baseline}`);
  if (line.ratio !== undefined) parts.push(`ratio ${line.ratio.toFixed(2)}x`);
  if (line.goal !== undefined) parts.push(`goal ${line.goal}${line.met === undefined ? '' : line.met ? ' (met)' : ' (NOT met)'}`);
  return parts.join('  |  ');
}
