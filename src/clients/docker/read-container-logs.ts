import type Docker from 'dockerode';

/** Splits the engine's multiplexed log stream (8-byte frame headers) into text; TTY logs pass as-is. */
export function demuxLogBuffer(buffer: Buffer): string {
  const parts: Buffer[] = [];
  let offset = 0;
  while (offset + 8 <= buffer.length) {
    const type = buffer.readUInt8(offset);
    const size = buffer.readUInt32BE(offset + 4);
    if (type > 2 || buffer[offset + 1] !== 0 || buffer[offset + 2] !== 0 || buffer[offset + 3] !== 0) {
      return buffer.toString('utf8');
    }
    parts.push(buffer.subarray(offset + 8, offset + 8 + size));
    offset += 8 + size;
  }
  return Buffer.concat(parts).toString('utf8');
}

/** The last `lines` lines the container wrote (stdout and stderr), without blank lines. */
export async function readLastLogLines(docker: Docker, container: string, lines = 5): Promise<string[]> {
  const raw = (await docker.getContainer(container).logs({ stdout: true, stderr: true, tail: lines, follow: false })) as unknown as Buffer;
  return demuxLogBuffer(Buffer.isBuffer(raw) ? raw : Buffer.from(String(raw)))
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l !== '')
    .slice(-lines);
}
