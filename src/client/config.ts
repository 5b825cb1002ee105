/** Update limits: python-tuf's ngclient defaults (tuf/ngclient/config.py), which tuf-js shares. */
export interface UpdaterConfig {
  /** Root versions one update walks at most (spec 5.3.3 leaves the bound to clients). */
  maxRootRotations: number;
  /** Delegated roles one target lookup visits at most. */
  maxDelegations: number;
  rootMaxLength: number;
  timestampMaxLength: number;
  /** Used only when timestamp.json does not give the snapshot's length. */
  snapshotMaxLength: number;
  /** Used only when the snapshot does not give the role's length. */
  targetsMaxLength: number;
  /** With consistent snapshots, fetch targets as `<dir>/<hash>.<name>`; false fetches the plain name. */
  prefixTargetsWithHash: boolean;
}

export const DEFAULT_CONFIG: Readonly<UpdaterConfig> = {
  maxRootRotations: 256,
  maxDelegations: 32,
  rootMaxLength: 512_000,
  timestampMaxLength: 16_384,
  snapshotMaxLength: 2_000_000,
  targetsMaxLength: 5_000_000,
  prefixTargetsWithHash: true,
};
