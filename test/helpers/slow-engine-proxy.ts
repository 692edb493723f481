import http from 'node:http';
import Docker from 'dockerode';

/**
 * A Docker Engine API proxy to the local engine that holds `GET /volumes` (what a dry run lists) until
 * released; with `holdEvents`, it never answers `GET /events`, as a wedged engine would not.
 */
export async function startSlowEngineProxy(options: { holdEvents?: boolean } = {}): Promise<{
  docker: Docker;
  volumesAsked: Promise<void>;
  volumeLists: () => number;
  /** `GET /events` requests held unanswered (with `holdEvents`). */
  eventRequests: () => number;
  release: () => void;
  close: () => Promise<void>;
}> {
  let lists = 0;
  let eventRequests = 0;
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  let asked!: () => void;
  const volumesAsked = new Promise<void>((r) => (asked = r));
  const server = http.createServer((req, res) => {
    void (async () => {
      if (options.holdEvents && /^(\/v[\d.]+)?\/events(\?|$)/.test(req.url ?? '')) {
        eventRequests++;
        return;
      }
      if (/^(\/v[\d.]+)?\/volumes(\?|$)/.test(req.url ?? '')) {
        lists++;
        asked();
        await released;
      }
      const upstream = http.request({ socketPath: '/var/run/docker.sock', path: req.url, method: req.method, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        // A stream such as /events answers with headers alone until something happens: pass them on at once.
        res.flushHeaders();
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
    eventRequests: () => eventRequests,
    release,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
