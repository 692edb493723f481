/** Log lines at level error (50) or fatal (60), and lines outside the JSON log that look like an error or a stack. */
export function errorLines(output: string): string[] {
  return output
    .split('\n')
    .filter((line) => line.trim() !== '')
    .filter((line) => {
      try {
        const entry = JSON.parse(line) as { level?: number };
        return (entry.level ?? 0) >= 50;
      } catch {
        return /error|exception|unhandled|^\s+at /i.test(line);
      }
    });
}

/** Lines a process wrote outside its JSON log (a library printing to the console). */
export function strayLines(output: string): string[] {
  return output.split('\n').filter((line) => line.trim() !== '' && !line.startsWith('{'));
}

/** A message a person reads: one line, no stack frame, not empty, not huge. */
export function isOneLine(text: string): boolean {
  const stackFrame = /\bat\s+(\S+\s+)?\(?(file:\/\/|node:|\/)[^\s)]*:\d+:\d+\)?/;
  return text.length > 0 && text.length <= 500 && !/[\r\n]/.test(text) && !stackFrame.test(text) && !/^\w*Error: /.test(text);
}

/** Error log lines whose `err` lost its message (an Error serialized as {}): a reader learns nothing from them. */
export function errorsWithoutMessage(output: string): string[] {
  return output.split('\n').filter((line) => {
    try {
      const entry = JSON.parse(line) as { err?: Record<string, unknown> | string };
      // An error logged as its text ("TypeError: fetch failed") still says what happened.
      if (typeof entry.err === 'string') return entry.err.trim() === '';
      return entry.err !== undefined && typeof entry.err.message !== 'string' && typeof entry.err.code !== 'string';
    } catch {
      return false;
    }
  });
}
