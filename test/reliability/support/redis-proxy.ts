import net from 'node:net';

/**
 * A TCP proxy in front of Redis for one process, which can stop it at an exact point: `holdWhen`
 * resolves once a command containing every one of `parts` passes toward Redis, and from then on
 * nothing more goes through in either direction (the command itself never arrives). The process is
 * then stuck mid-job, holding its BullMQ lock, until the test kills it.
 */
export interface RedisProxy {
  url: string;
  port: number;
  holdWhen: (...parts: string[]) => Promise<void>;
  /** Resolves once a command containing every one of `parts` passes toward Redis; keeps forwarding. */
  seen: (...parts: string[]) => Promise<void>;
  /** Forwards everything again (holds that did not trigger are dropped). */
  release: () => void;
  close: () => Promise<void>;
}

export async function startRedisProxy(target: { host: string; port: number }): Promise<RedisProxy> {
  const sockets = new Set<net.Socket>();
  const watchers: Array<{ parts: string[]; resolve: () => void; hold: boolean }> = [];
  let held = false;
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host);
    sockets.add(client).add(upstream);
    let tail = '';
    client.on('data', (chunk: Buffer) => {
      if (held) return;
      const text = tail + chunk.toString('latin1');
      tail = text.slice(-512);
      for (let i = watchers.length - 1; i >= 0; i--) {
        const watcher = watchers[i]!;
        if (!watcher.parts.every((p) => text.includes(p))) continue;
        watchers.splice(i, 1);
        watcher.resolve();
        if (watcher.hold) held = true;
      }
      if (!held) upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!held) client.write(chunk);
    });
    const close = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', close).on('error', close);
    upstream.on('close', close).on('error', close);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    holdWhen: (...parts) => new Promise<void>((resolve) => watchers.push({ parts, resolve, hold: true })),
    seen: (...parts) => new Promise<void>((resolve) => watchers.push({ parts, resolve, hold: false })),
    release: () => {
      held = false;
      watchers.length = 0;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
