import http from 'node:http';
import Docker from 'dockerode';

/** A Docker Engine API proxy to the local engine that holds `GET /volumes` (what a dry run lists) until released. */
export async function startSlowEngineProxy(): Promise<{
  docker: Docker;
  volumesAsked: Promise<void>;
  volumeLists: () => number;
  release: () => void;
  close: () => Promise<void>;
}> {
  let lists = 0;
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  let asked!: () => void;
  const volumesAsked = new Promise<void>((r) => (asked = r));
  const server = http.createServer((req, res) => {
    void (async () => {
      if (/^(\/v[\d.]+)?\/volumes(\?|$)/.test(req.url ?? '')) {
        lists++;
        asked();
        await released;
      }
      const upstream = http.request({ socketPath: '/var/run/docker.sock', path: req.url, method: req.method, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      upstream.on('error', () => res.destroy());
      req.pipe(upstream);
    })();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return {
    docker: new Docker({ host: '127.0.0.1', port }),
    volumesAsked,
    volumeLists: () => lists,
    release,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
