import path from 'node:path';
import type Docker from 'dockerode';
import type { WorkerSettings } from '../../config.js';
import { readContainerMounts, type ContainerMount } from '../docker/read-container-mounts.js';
import { StoreReadError } from './store-read-error.js';

/** Which store a report is about: the nix-daemon container's (the seed's second setup) or the host's own. */
export type StoreChoice = 'auto' | 'container' | 'host';

/** Where one Nix store's parts are on this machine, for analyzeStore. */
export interface StoreLocation {
  kind: 'container' | 'host';
  /** For messages and reports: `container gitlabnix` or `host`. */
  label: string;
  /** Nix state directory (gcroots, profiles, temproots; db/ unless dbDir says otherwise). */
  stateDir: string;
  /** Where the store's files are (for free space). */
  storeDir: string;
  /** Directory holding db.sqlite. */
  dbDir: string;
  daemonSocket: string;
  /** The state directory is not visible here (only db/ and the socket are mounted): ask the daemon for the roots. */
  rootsViaDaemon: boolean;
}

const DEFAULT_STATE_DIR = '/nix/var/nix';
const DEFAULT_STORE_DIR = '/nix/store';

/** The host's own store, from NIX_STATE_DIR and NIX_STORE_DIR. */
export function hostStore(settings: Pick<WorkerSettings, 'nixStateDir' | 'nixStoreDir'>): StoreLocation {
  return {
    kind: 'host',
    label: 'host',
    stateDir: settings.nixStateDir,
    storeDir: settings.nixStoreDir,
    dbDir: path.join(settings.nixStateDir, 'db'),
    daemonSocket: path.join(settings.nixStateDir, 'daemon-socket/socket'),
    rootsViaDaemon: false,
  };
}

/**
 * The store a nix-daemon container serves, from its mounts: /nix/store, and /nix/var/nix (or, as in the
 * seed's image, only its db and daemon-socket volumes; the roots then come from the daemon itself).
 * Undefined when the container does not mount its store.
 */
export function containerStore(container: string, mounts: ContainerMount[]): StoreLocation | undefined {
  const at = (destination: string): string | undefined => mounts.find((m) => path.posix.normalize(m.destination).replace(/\/$/, '') === destination)?.source;
  const store = at(DEFAULT_STORE_DIR);
  const state = at(DEFAULT_STATE_DIR);
  const db = at(`${DEFAULT_STATE_DIR}/db`) ?? (state === undefined ? undefined : path.join(state, 'db'));
  if (store === undefined || db === undefined) return undefined;
  const socketDir = at(`${DEFAULT_STATE_DIR}/daemon-socket`) ?? (state === undefined ? undefined : path.join(state, 'daemon-socket'));
  return {
    kind: 'container',
    label: `container ${container}`,
    stateDir: state ?? db,
    storeDir: store,
    dbDir: db,
    daemonSocket: path.join(socketDir ?? db, 'socket'),
    rootsViaDaemon: state === undefined,
  };
}

/**
 * The store to report on. `auto`: the NIX_DAEMON_CONTAINER's store when that container exists and
 * mounts one and NIX_STATE_DIR / NIX_STORE_DIR are left at their defaults (set, they name the store
 * to read), else the host's. `container` and `host` ask for one; `container` fails with one line when
 * there is none.
 */
export async function locateStore(
  docker: Docker,
  settings: Pick<WorkerSettings, 'nixStateDir' | 'nixStoreDir' | 'nixDaemonContainer' | 'host'>,
  choice: StoreChoice,
): Promise<StoreLocation> {
  if (choice === 'host') return hostStore(settings);
  const explicit = settings.nixStateDir !== DEFAULT_STATE_DIR || settings.nixStoreDir !== DEFAULT_STORE_DIR;
  if (choice === 'auto' && explicit) return hostStore(settings);
  const name = settings.nixDaemonContainer;
  let mounts: ContainerMount[] | undefined;
  try {
    mounts = await readContainerMounts(docker, name);
  } catch (err) {
    if (choice === 'auto') return hostStore(settings);
    throw new StoreReadError(
      `cannot ask Docker about container "${name}" (${err instanceof Error ? err.message : String(err)}); check DOCKER_HOST`,
      'unreadable',
    );
  }
  const location = mounts === undefined ? undefined : containerStore(name, mounts);
  if (location !== undefined) return location;
  if (choice === 'auto') return hostStore(settings);
  throw new StoreReadError(
    mounts === undefined
      ? `no container "${name}" on ${settings.host}; check NIX_DAEMON_CONTAINER, or ask for the host's own store`
      : `container "${name}" on ${settings.host} mounts no /nix/store and /nix/var/nix (or /nix/var/nix/db); it is not the nix-daemon container: check NIX_DAEMON_CONTAINER`,
    'missing',
  );
}
