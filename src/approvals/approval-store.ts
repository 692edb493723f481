import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Request } from '../commands/requests.js';
import type { Requester } from '../queue/command-record.js';
import type { Signed } from '../queue/signed.js';
import { keys } from '../queue/names.js';

/** What an approval runs, decided when it was requested: exactly this runs once approved. */
export type FrozenPlan =
  | { kind: 'jobs'; job: string; control: boolean; hosts: string[]; payloads: Record<string, unknown> }
  | { kind: 'enrol'; host: string; fingerprint: string };

export type ApprovalState = 'pending' | 'approved' | 'running' | 'done' | 'failed' | 'denied' | 'expired';

/** A request waiting for (or past) a second person's decision. */
export interface Approval {
  id: string;
  state: ApprovalState;
  /** The command text as typed, e.g. "rotate ci-3 --runner nix". */
  text: string;
  request: Request;
  requester: Requester;
  /** Roles that may approve (from the policy, at request time). */
  approvers: string[];
  /** What runs once approved, decided at request time. */
  plan: FrozenPlan;
  /** The bot's signature over the hash of the fields above (approval-seal.ts). */
  seal: Signed<{ id: string; requestHash: string }>;
  /** The bot's signature over the decision (who approved, when). */
  decisionSeal?: Signed<{ id: string; requestHash: string; decidedBy: string; decidedAt: number }>;
  createdAt: number;
  expiresAt: number;
  decidedBy?: string;
  decidedAt?: number;
  reason?: string;
  /** Where the approval message lives (Slack channel + ts). */
  message?: { channel: string; ts: string };
  /** Set once the job is queued: derived from the approval id. */
  commandId?: string;
  outcome?: string;
}

const key = keys.approval;

const pendingKey = keys.pendingApprovals;
const TTL_SECONDS = 30 * 86400;

/** The command id an approval's job runs under: the same approval can only ever queue one command. */
export function commandIdFor(approvalId: string): string {
  return `ap-${approvalId}`;
}

/**
 * Atomically moves an approval from one of `from` to `to` and merges `patch`; returns the approval
 * after the change, or the current one with `changed: false` when it was in another state.
 * One script run per transition: two clicks, two replicas or a restart cannot both win.
 */
const TRANSITION = `
local raw = redis.call('GET', KEYS[1])
if not raw then return {0, ''} end
local current = cjson.decode(raw)
local allowed = false
for _, state in ipairs(cjson.decode(ARGV[1])) do
  if current.state == state then allowed = true end
end
if not allowed then return {0, raw} end
local patch = cjson.decode(ARGV[2])
for k, v in pairs(patch) do current[k] = v end
current.state = ARGV[3]
local updated = cjson.encode(current)
redis.call('SET', KEYS[1], updated, 'KEEPTTL')
if ARGV[3] ~= 'pending' then redis.call('ZREM', KEYS[2], current.id) end
return {1, updated}
`;

/** Sets one field of a stored approval without touching the rest (its state above all). */
const SET_FIELD = `
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
local current = cjson.decode(raw)
current[ARGV[1]] = cjson.decode(ARGV[2])
redis.call('SET', KEYS[1], cjson.encode(current), 'KEEPTTL')
return 1
`;

export interface ApprovalStore {
  /** A fresh approval id (the plan, frozen before the request is stored, derives its command id from it). */
  newId: () => string;
  /** Stores a new pending request; `seal` signs it as stored. */
  create: (input: Omit<Approval, 'state' | 'createdAt' | 'seal'>, seal: (approval: Omit<Approval, 'seal'>) => Approval['seal']) => Promise<Approval>;
  get: (id: string) => Promise<Approval | undefined>;
  transition: (id: string, from: ApprovalState[], to: ApprovalState, patch?: Partial<Approval>) => Promise<{ changed: boolean; approval?: Approval }>;
  /** Records where the approval message was posted. */
  setMessage: (id: string, message: { channel: string; ts: string }) => Promise<void>;
  /** Pending approvals whose expiry has passed. */
  overdue: (now: number) => Promise<string[]>;
  /** Every pending approval (for App Home). */
  pending: () => Promise<Approval[]>;
  /** Approvals that were approved but never queued (a bot stopped in between). */
  stranded: () => Promise<Approval[]>;
}

/** Fields fixed at request time, kept as one JSON string so the Lua transitions never re-encode them (cjson turns [] into {}). */
const FROZEN = ['text', 'request', 'requester', 'approvers', 'plan', 'createdAt', 'expiresAt', 'seal'] as const;

function toStored(approval: Approval): string {
  const frozen = Object.fromEntries(FROZEN.map((k) => [k, approval[k]]));
  const rest = Object.fromEntries(Object.entries(approval).filter(([k]) => !(FROZEN as readonly string[]).includes(k)));
  return JSON.stringify({ ...rest, expiresAt: approval.expiresAt, frozen: JSON.stringify(frozen) });
}

/** Reads a stored approval (input from Redis); undefined when it is not one. */
function fromStored(raw: string): Approval | undefined {
  try {
    const { frozen, ...rest } = JSON.parse(raw) as { frozen?: string } & Partial<Approval>;
    const fixed = typeof frozen === 'string' ? (JSON.parse(frozen) as Partial<Approval>) : {};
    const approval = { ...rest, ...fixed } as Approval;
    return typeof approval.id === 'string' && typeof approval.state === 'string' ? approval : undefined;
  } catch {
    return undefined;
  }
}

export function createApprovalStore(redis: Redis, prefix: string): ApprovalStore {
  const strandedKey = keys.strandedApprovals(prefix);
  const store: ApprovalStore = {
    newId: () => randomBytes(6).toString('hex'),
    async create(input, seal) {
      const unsealed: Omit<Approval, 'seal'> = { ...input, state: 'pending', createdAt: Date.now() };
      const approval: Approval = { ...unsealed, seal: seal(unsealed) };
      await redis.multi().set(key(prefix, approval.id), toStored(approval), 'EX', TTL_SECONDS).zadd(pendingKey(prefix), approval.expiresAt, approval.id).exec();
      return approval;
    },
    async get(id) {
      if (!/^[0-9a-f]{12}$/.test(id)) return undefined;
      const raw = await redis.get(key(prefix, id));
      return raw ? fromStored(raw) : undefined;
    },
    async transition(id, from, to, patch = {}) {
      if (!/^[0-9a-f]{12}$/.test(id)) return { changed: false };
      const [changed, raw] = (await redis.eval(TRANSITION, 2, key(prefix, id), pendingKey(prefix), JSON.stringify(from), JSON.stringify(patch), to)) as [
        number,
        string,
      ];
      if (changed === 1) {
        if (to === 'approved') await redis.sadd(strandedKey, id);
        if (from.includes('approved') && to !== 'approved') await redis.srem(strandedKey, id);
      }
      const approval = raw ? fromStored(raw) : undefined;
      return { changed: changed === 1, ...(approval ? { approval } : {}) };
    },
    async setMessage(id, message) {
      // A click may land between posting the message and recording it: change nothing but `message`.
      await redis.eval(SET_FIELD, 1, key(prefix, id), 'message', JSON.stringify(message));
    },
    async overdue(now) {
      return redis.zrangebyscore(pendingKey(prefix), 0, now);
    },
    async pending() {
      const ids = await redis.zrange(pendingKey(prefix), 0, -1);
      const all = await Promise.all(ids.map((id) => store.get(id)));
      return all.filter((a): a is Approval => a?.state === 'pending');
    },
    async stranded() {
      const ids = await redis.smembers(strandedKey);
      const all = await Promise.all(ids.map((id) => store.get(id)));
      return all.filter((a): a is Approval => a?.state === 'approved');
    },
  };
  return store;
}
