import { PermanentJobError, TransientJobError, firstLine } from '../../errors.js';

/** What docker-modem attaches to an error for a non-2xx answer. */
interface ModemError {
  statusCode?: number;
  json?: { message?: string } | string | null;
  code?: string;
  message?: string;
}

/** The HTTP status of a Docker Engine error answer, or undefined for anything else. */
export function dockerStatus(err: unknown): number | undefined {
  const status = (err as ModemError | null)?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

/** The engine's own message (`{"message": ...}`), else the error's first line. */
export function dockerMessage(err: unknown): string {
  const e = err as ModemError | null;
  const json = e?.json;
  if (json && typeof json === 'object' && typeof json.message === 'string') return firstLine(json.message);
  if (typeof json === 'string' && json.trim() !== '') return firstLine(json.trim());
  return firstLine(e?.message ?? String(err));
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOENT', 'EACCES', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH']);

/** True when the error says nothing answered on the engine's socket (as opposed to an error answer). */
export function isEngineUnreachable(err: unknown): boolean {
  const code = (err as ModemError | null)?.code;
  return dockerStatus(err) === undefined && typeof code === 'string' && UNREACHABLE.has(code);
}

/**
 * Turns a Docker failure into the job error a person reads: an engine that does not answer (with what to
 * check), 409 and 5xx as transient (the queue retries them with backoff, for jobs that allow retries:
 * src/queue/payloads/retry.ts), anything else permanent. `doing` says what we
 * were doing, e.g. `restarting container "gitlabnix"`.
 */
export function toJobError(err: unknown, doing: string, dockerHost?: string): Error {
  if (err instanceof PermanentJobError || err instanceof TransientJobError) return err;
  const where = dockerHost ?? 'unix:///var/run/docker.sock';
  if (isEngineUnreachable(err)) {
    const code = (err as ModemError).code;
    return new PermanentJobError(
      `Docker Engine does not answer at ${where} (${code}) while ${doing}; check that dockerd is running (systemctl status docker) and DOCKER_HOST`,
    );
  }
  const status = dockerStatus(err);
  if (status === 409 || (status !== undefined && status >= 500)) {
    return new TransientJobError(`Docker Engine answered ${status} while ${doing}: ${dockerMessage(err)}`);
  }
  if (status !== undefined) return new PermanentJobError(`Docker Engine answered ${status} while ${doing}: ${dockerMessage(err)}`);
  return err instanceof Error ? err : new Error(String(err));
}
