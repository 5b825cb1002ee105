/**
 * Which delegated roles may sign for a target path (spec 5.6.7.2, TAP 15): the
 * path-pattern and hash-prefix delegations that match, in order, or the one
 * succinct hash bin the path falls in.
 */
import { toHex, sha256Sync, utf8, type DelegatedRole, type Targets } from "../tuf/index.js";

export interface Delegation {
  name: string;
  /** A terminating delegation ends the search when its subtree has no answer. Succinct bins always terminate. */
  terminating: boolean;
}

export function rolesForTarget(targets: Targets, targetPath: string): Delegation[] {
  const d = targets.delegations;
  if (!d) return [];
  if (d.succinctRoles) return [{ name: d.succinctRoles.succinctBinFor(targetPath), terminating: true }];
  const out: Delegation[] = [];
  for (const role of d.roles ?? []) if (isDelegatedPath(role, targetPath)) out.push({ name: role.name, terminating: role.terminating });
  return out;
}

export function isDelegatedPath(role: DelegatedRole, targetPath: string): boolean {
  if (role.pathHashPrefixes) {
    const hash = toHex(sha256Sync(utf8(targetPath)));
    return role.pathHashPrefixes.some((prefix) => hash.startsWith(prefix));
  }
  return (role.paths ?? []).some((pattern) => matchesPathPattern(targetPath, pattern));
}

/** python-tuf's rule: as many "/"-separated parts as the pattern, each matching its glob; "*" never crosses a "/". */
export function matchesPathPattern(targetPath: string, pattern: string): boolean {
  const targetParts = targetPath.split("/");
  const patternParts = pattern.split("/");
  if (targetParts.length !== patternParts.length) return false;
  return patternParts.every((part, i) => globRegExp(part).test(targetParts[i]!));
}

const compiled = new Map<string, RegExp>();

/** Python's fnmatch.translate: `*`, `?`, `[seq]` and `[!seq]`; everything else is literal. */
function globRegExp(glob: string): RegExp {
  let re = compiled.get(glob);
  if (re) return re;
  let out = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === "*") out += "[^]*";
    else if (c === "?") out += "[^]";
    else if (c === "[") {
      let j = i + 1;
      if (glob[j] === "!") j++;
      if (glob[j] === "]") j++;
      while (j < glob.length && glob[j] !== "]") j++;
      if (j >= glob.length) out += "\\[";
      else {
        let set = glob.slice(i + 1, j).replace(/\\/g, "\\\\");
        if (set.startsWith("!")) set = `^${set.slice(1)}`;
        else if (set.startsWith("^")) set = `\\${set}`;
        out += `[${set}]`;
        i = j;
      }
    } else out += c.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  }
  re = new RegExp(`^${out}$`);
  compiled.set(glob, re);
  return re;
}
