/**
 * Where a hosted target's bytes live in R2. TUF spec 6.2.1: with consistent
 * snapshots a target is fetched as `dir/HASH.basename`, one identical copy per
 * listed hash; the plain path serves clients without TUF.
 */
export function consistentTargetKey(path: string, hash: string): string {
  const slash = path.lastIndexOf("/");
  return `targets/${path.slice(0, slash + 1)}${hash}.${path.slice(slash + 1)}`;
}

export const plainTargetKey = (path: string): string => `targets/${path}`;

/** Every R2 key holding a copy of the target. */
export const targetKeys = (path: string, hashes: Readonly<Record<string, string>>): string[] => [
  ...Object.values(hashes).map((h) => consistentTargetKey(path, h)),
  plainTargetKey(path),
];
