import type { Request } from '../commands/requests.js';
import { parseDuration } from '../commands/duration.js';
import type { Policy } from '../policy/schema.js';
import type { HostStatus } from '../queue/host-registry.js';
import { requireHost, resolveTarget } from '../queue/host-registry.js';

/** Which job a queueing verb becomes, on which hosts, with which payload. */
export interface JobPlan {
  job: string;
  hosts: string[];
  control: boolean;
  payloadFor: (host: string, commandId: string) => unknown;
}

export type QueueingRequest = Extract<Request, { verb: 'ping' | 'store' | 'prune' | 'restart-daemon' | 'register' | 'rotate' }>;

export function isQueueing(request: Request): request is QueueingRequest {
  return ['ping', 'store', 'prune', 'restart-daemon', 'register', 'rotate'].includes(request.verb);
}

/** Turns a parsed request into jobs, filling defaults from the policy. Unknown hosts are refused here. */
export function planJob(request: QueueingRequest, hosts: HostStatus[], policy: Policy, now = Date.now()): JobPlan {
  switch (request.verb) {
    case 'ping':
      return { job: 'ping', hosts: resolveTarget(request.target, hosts), control: false, payloadFor: () => ({ sentAt: now }) };
    case 'store':
      return { job: 'store-usage', hosts: resolveTarget(request.target, hosts), control: false, payloadFor: () => ({ top: request.top }) };
    case 'prune':
      return {
        job: 'prune-docker',
        hosts: resolveTarget(request.target, hosts),
        control: false,
        payloadFor: () => ({
          dryRun: request.dryRun,
          untilSeconds: request.untilSeconds ?? parseDuration(policy.prune.until, 'policy prune.until'),
          volumes: request.volumes,
          namedVolumes: policy.prune.namedVolumes,
          images: request.images ?? policy.prune.images,
          buildCache: request.buildCache,
          protectLabel: policy.prune.protectLabel,
        }),
      };
    case 'restart-daemon': {
      const host = requireHost(request.host, hosts);
      if (!request.drain) {
        return { job: 'restart-nix-daemon', hosts: [host.name], control: false, payloadFor: () => ({ timeoutSeconds: request.timeoutSeconds }) };
      }
      const runnerIds = (host.runners ?? []).map((r) => r.id).filter((id): id is number => typeof id === 'number');
      return {
        job: 'restart-drained',
        hosts: [host.name],
        control: true,
        payloadFor: () => ({ host: host.name, runnerIds, timeoutSeconds: request.timeoutSeconds }),
      };
    }
    case 'register': {
      const host = requireHost(request.host, hosts);
      const { verb: _verb, host: _host, ...options } = request;
      return { job: 'register-runner', hosts: [host.name], control: true, payloadFor: () => ({ host: host.name, ...options }) };
    }
    case 'rotate': {
      const host = requireHost(request.host, hosts);
      return {
        job: 'rotate-token',
        hosts: [host.name],
        control: false,
        payloadFor: (_host, commandId) => ({ requestId: commandId, ...(request.runner ? { runner: request.runner } : {}) }),
      };
    }
  }
}
