import { createServer, type IncomingMessage, type Server } from 'node:http';
import { chmod, mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { describeError } from '../errors.js';
import { verifyCliRequest, type CliPerson } from '../queue/cli-request.js';
import { keys } from '../queue/names.js';
import { SignatureError } from '../queue/signed.js';
import type { BotCore } from './bot-core.js';
import { runTerminalCommand } from './run-terminal-command.js';
import { reportSecurity, type SecurityDeps } from './report-security.js';

const MAX_BODY = 64 * 1024;

async function readBody(req: IncomingMessage): Promise<string> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) throw new SignatureError('a terminal request larger than 64 KiB');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The people of the policy who may use the terminal. */
export function cliPeople(core: Pick<BotCore, 'policy'>): CliPerson[] {
  return Object.entries(core.policy.people).map(([name, p]) => ({ name, identities: p.identities, cliKeys: p.cliKeys }));
}

/**
 * The local API `runnerops <verb>` talks to: HTTP on a unix socket (mode 0660). Every request is signed
 * with the person's own terminal key (policy `people.<name>.cliKeys`), fresh and used once; the
 * command then runs with the bot's policy, as that person's `cli:` identity. The answer is the lines
 * the command prints, then `exit <code>`.
 */
export async function startApi(core: BotCore, socketPath: string, security: SecurityDeps): Promise<{ stop: () => Promise<void> }> {
  await mkdir(path.dirname(socketPath), { recursive: true, mode: 0o750 });
  await rm(socketPath, { force: true });
  const server: Server = createServer((req, res) => {
    const lines = (line: string) => res.write(`${line}\n`);
    void (async () => {
      if (req.method !== 'POST' || req.url !== '/v1/commands') {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found; POST /v1/commands\nexit 1\n');
        return;
      }
      let request;
      try {
        const body = await readBody(req);
        let doc: unknown;
        try {
          doc = JSON.parse(body);
        } catch {
          throw new SignatureError('a terminal request that is not JSON');
        }
        request = verifyCliRequest(doc, cliPeople(core));
        if ((await core.redis.set(keys.cliNonce(core.prefix, request.nonce), '1', 'EX', 180, 'NX')) !== 'OK')
          throw new SignatureError('a terminal request that was already used');
      } catch (err) {
        if (!(err instanceof SignatureError)) throw err;
        await reportSecurity(security, 'refused-terminal-request', `refused a terminal request: ${err.message}`);
        res.writeHead(403, { 'content-type': 'text/plain' }).end(`refused: ${err.message}\nexit 1\n`);
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain' });
      const code = await runTerminalCommand(core, request.args, request.user, lines);
      res.end(`exit ${code}\n`);
    })().catch((err: unknown) => {
      core.log.error({ err }, 'terminal request failed');
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`${describeError(err)}\nexit 1\n`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
  await chmod(socketPath, 0o660);
  return {
    stop: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(socketPath, { force: true });
    },
  };
}
