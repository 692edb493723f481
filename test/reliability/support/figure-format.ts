/** One measured figure of a scenario, printed at the end of the run and kept in figures.jsonl. */
export interface Figure {
  scenario: string;
  name: string;
  value: string;
  /** What it is measured against (a limit, an idle figure, the slowest host's own work). */
  next?: string;
}

/** The figures as an aligned table (printed by global-setup.ts at the end of the run). */
export function formatFigures(figures: Figure[]): string {
  const width = Math.max(...figures.map((f) => `${f.scenario}: ${f.name}`.length));
  return figures.map((f) => `${`${f.scenario}: ${f.name}`.padEnd(width)}  ${f.value}${f.next ? `  (${f.next})` : ''}`).join('\n');
}
