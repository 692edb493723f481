/** A report to post: text, and a file such as a chart. */
export interface ScheduledReport {
  text: string;
  attachment?: { filename: string; bytes: Buffer; title: string };
  commandId?: string;
  /** One line for the audit log. @defaultValue the text's first line */
  outcome?: string;
}
