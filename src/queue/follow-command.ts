import type { Redis } from 'ioredis';
import { isTerminal, readRows, type CommandRow } from './command-record.js';
import { readStream } from './events.js';
import { keys } from './names.js';

/** Marks the rows of a command that have not finished as "silent" (the host did not answer in time). */
const MARK_SILENT = `
local rows = redis.call('HGETALL', KEYS[1])
local marked = 0
for i = 1, #rows, 2 do
  local row = cjson.decode(rows[i + 1])
  if row.status ~= 'done' and row.status ~= 'failed' and row.status ~= 'silent' then
    row.status = 'silent'
    row.finishedAt = tonumber(ARGV[1])
    redis.call('HSET', KEYS[1], rows[i], cjson.encode(row))
    marked = marked + 1
  end
end
return marked
`;

export async function markSilent(redis: Redis, prefix: string, commandId: string, now = Date.now()): Promise<number> {
  return (await redis.eval(MARK_SILENT, 1, keys.commandRows(prefix, commandId), String(now))) as number;
}

export interface FollowOptions {
  /** Row-change stream id to read from (latestEventId(..., 'rowChanges')); take it before queueing so nothing is missed. */
  fromId: string;
  /** Give up after this long and mark unfinished hosts silent. */
  timeoutMs: number;
  /** Called with the rows whenever the bot changed them. */
  onRows?: (rows: CommandRow[]) => void;
  signal?: AbortSignal;
}

/**
 * Follows one command until every host's row is final (or the timeout), reading the stream of row
 * changes (rows are written by bots from verified events only) on a dedicated `blocking` connection.
 * Returns the final rows.
 */
export async function followCommand(redis: Redis, blocking: Redis, prefix: string, commandId: string, options: FollowOptions): Promise<CommandRow[]> {
  const deadline = Date.now() + options.timeoutMs;
  let cursor = options.fromId;
  let rows = await readRows(redis, prefix, commandId);
  while (!(rows.length > 0 && rows.every((r) => isTerminal(r.status)))) {
    const left = deadline - Date.now();
    if (left <= 0 || options.signal?.aborted) {
      await markSilent(redis, prefix, commandId);
      const final = await readRows(redis, prefix, commandId);
      options.onRows?.(final);
      return final;
    }
    const { values, nextId } = await readStream(blocking, prefix, 'rowChanges', cursor, Math.max(1, Math.min(left, 1000)));
    cursor = nextId;
    if (values.includes(commandId)) {
      rows = await readRows(redis, prefix, commandId);
      options.onRows?.(rows);
    }
  }
  return rows;
}
