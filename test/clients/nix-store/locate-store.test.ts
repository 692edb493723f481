import { describe, expect, it } from 'vitest';
import { containerStore, hostStore } from '../../../src/clients/nix-store/locate-store.js';

const volume = (destination: string, id: string) => ({ type: 'volume', name: id, source: `/var/lib/docker/volumes/${id}/_data`, destination, rw: true });

describe('containerStore', () => {
  it("reads the store and db from the seed image's volumes and takes the roots from the daemon", () => {
    const location = containerStore('gitlabnix', [volume('/nix/store', 's'), volume('/nix/var/nix/db', 'd'), volume('/nix/var/nix/daemon-socket', 'k')]);
    expect(location).toEqual({
      kind: 'container',
      label: 'container gitlabnix',
      stateDir: '/var/lib/docker/volumes/d/_data',
      storeDir: '/var/lib/docker/volumes/s/_data',
      dbDir: '/var/lib/docker/volumes/d/_data',
      daemonSocket: '/var/lib/docker/volumes/k/_data/socket',
      rootsViaDaemon: true,
    });
  });

  it('reads roots from the state directory when the container mounts all of /nix/var/nix', () => {
    const location = containerStore('nixd', [volume('/nix/store/', 's'), { type: 'bind', source: '/srv/nixd/var', destination: '/nix/var/nix', rw: true }]);
    expect(location).toMatchObject({
      stateDir: '/srv/nixd/var',
      dbDir: '/srv/nixd/var/db',
      daemonSocket: '/srv/nixd/var/daemon-socket/socket',
      rootsViaDaemon: false,
    });
  });

  it('finds no store in a container that does not mount one', () => {
    expect(containerStore('web', [volume('/data', 'x')])).toBeUndefined();
    expect(containerStore('half', [volume('/nix/store', 's')])).toBeUndefined();
  });
});

describe('hostStore', () => {
  it('takes NIX_STATE_DIR and NIX_STORE_DIR', () => {
    expect(hostStore({ nixStateDir: '/nix/var/nix', nixStoreDir: '/nix/store' })).toMatchObject({
      kind: 'host',
      dbDir: '/nix/var/nix/db',
      rootsViaDaemon: false,
    });
  });
});
