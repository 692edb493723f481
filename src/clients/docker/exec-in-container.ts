import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';

export interface ExecOptions {
  /** Extra environment, `KEY=value`. @defaultValue none */
  env?: string[];
  /** Give up waiting after this long (the process in the container is left to finish). @defaultValue 15000 */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface ExecResult {
  /** The command's exit code; null when it timed out. */
  exitCode: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** Runs `cmd` in a running container through the exec API and collects its output and exit code. */
export async function execInContainer(docker: Docker, container: string, cmd: string[], options: ExecOptions = {}): Promise<ExecResult> {
  const exec = await docker.getContainer(container).exec({ Cmd: cmd, Env: options.env, AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({ hijack: true, stdin: false });
  const out = new PassThrough();
  const err = new PassThrough();
  const chunks = { stdout: [] as Buffer[], stderr: [] as Buffer[] };
  out.on('data', (c: Buffer) => chunks.stdout.push(c));
  err.on('data', (c: Buffer) => chunks.stderr.push(c));
  docker.modem.demuxStream(stream, out, err);

  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const ended = new Promise<'ended'>((resolve, reject) => {
    stream.once('end', () => resolve('ended'));
    stream.once('close', () => resolve('ended'));
    stream.once('error', reject);
  });
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), options.timeoutMs ?? 15_000);
    onAbort = () => resolve('timeout');
    options.signal?.addEventListener('abort', onAbort, { once: true });
  });
  try {
    const outcome = await Promise.race([ended, timedOut]);
    const text = (list: Buffer[]): string => Buffer.concat(list).toString('utf8');
    if (outcome === 'timeout') {
      (stream as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
      return { exitCode: null, stdout: text(chunks.stdout), stderr: text(chunks.stderr), timedOut: true };
    }
    // The stream can end a moment before the engine records the exit code.
    let info = await exec.inspect();
    for (let i = 0; info.Running && i < 50; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      info = await exec.inspect();
    }
    return { exitCode: info.ExitCode ?? null, stdout: text(chunks.stdout), stderr: text(chunks.stderr), timedOut: false };
  } finally {
    clearTimeout(timer);
    if (onAbort) options.signal?.removeEventListener('abort', onAbort);
  }
}
