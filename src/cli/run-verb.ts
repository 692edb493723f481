import { request } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { UserError } from '../errors.js';
import { signCliRequest } from '../queue/cli-request.js';
import { loadSigner } from '../queue/signing-keys.js';

export interface VerbRun {
  env: Record<string, string | undefined>;
  write: (line: string) => void;
  /** Defaults to `cli:<login name>`. */
  user?: string;
}

/** Where the terminal key lives: RUNNEROPS_CLI_KEY, else ~/.config/runnerops/cli-key. */
export function cliKeyPath(env: Record<string, string | undefined>): string {
  return env.RUNNEROPS_CLI_KEY?.trim() || path.join(os.homedir(), '.config', 'runnerops', 'cli-key');
}

/**
 * `runnerops <verb> ...`: the same command as in Slack, sent to the bot's local API signed with this
 * person's terminal key, and printed as the bot answers. The terminal holds no authority of its own:
 * no Redis credential, no policy; the bot decides with its policy. Exit code 0 when everything worked.
 */
export async function runVerb(args: string[], run: VerbRun): Promise<number> {
  const socketPath = run.env.RUNNEROPS_API_SOCKET?.trim() || '/run/runnerops/api.sock';
  const keyFile = cliKeyPath(run.env);
  const signer = await loadSigner(keyFile, 'RUNNEROPS_CLI_KEY').catch((err: unknown) => {
    throw err instanceof UserError && err.message.includes('does not exist')
      ? new UserError(
          `no terminal key at ${keyFile}; create one with "runnerops keygen --cli" and have its public key added to your person in the policy (people.<name>.cliKeys)`,
        )
      : err;
  });
  const user = run.user ?? `cli:${os.userInfo().username}`;
  const body = JSON.stringify(signCliRequest(signer, user, args));
  return new Promise<number>((resolve, reject) => {
    const req = request(
      { socketPath, path: '/v1/commands', method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        let pending = '';
        let code = 1;
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          pending += chunk;
          for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
            const line = pending.slice(0, nl);
            pending = pending.slice(nl + 1);
            const exit = /^exit (\d+)$/.exec(line);
            if (exit) code = Number(exit[1]);
            else run.write(line);
          }
        });
        res.on('end', () => resolve(code));
        res.on('error', reject);
      },
    );
    req.on('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'ENOENT' || err.code === 'ECONNREFUSED'
          ? new UserError(`cannot reach the bot at ${socketPath}; run this on the bot's machine (or set RUNNEROPS_API_SOCKET) while "runnerops bot" runs`)
          : err.code === 'EACCES'
            ? new UserError(`no permission to open ${socketPath}; ask for membership of the group that owns it`)
            : err,
      ),
    );
    req.end(body);
  });
}
