/**
 * Whether a target path is listed by the repository's current consistent
 * snapshot: timestamp → snapshot → bins → the one bin-n for the path. A
 * lookup, not a verification (tuf-edge verify does that).
 */
import { Metadata } from "../../src/tuf/index.js";
import { CliError } from "./errors.js";

export async function isPublished(url: string, path: string): Promise<boolean> {
  const get = async (name: string): Promise<Uint8Array> => {
    let res: Response;
    try {
      res = await fetch(`${url}/metadata/${name}`);
    } catch (err) {
      throw new CliError(`cannot reach ${url}/metadata/${name} (${(err as Error).message})`, "Check --url and that the Worker is running");
    }
    if (!res.ok) throw new CliError(`${url}/metadata/${name} answered ${res.status}`, "Check --url (the Worker's base URL) and that the repository is bootstrapped");
    return new Uint8Array(await res.arrayBuffer());
  };
  const timestamp = Metadata.fromBytes("timestamp", await get("timestamp.json")).signed;
  const snapshot = Metadata.fromBytes("snapshot", await get(`${timestamp.snapshotMeta.version}.snapshot.json`)).signed;
  const bins = Metadata.fromBytes("targets", await get(`${snapshot.meta["bins.json"]!.version}.bins.json`)).signed;
  const succinct = bins.delegations?.succinctRoles;
  if (!succinct) return false;
  const role = succinct.roleName(succinct.binIndexFor(path));
  const binN = Metadata.fromBytes("targets", await get(`${snapshot.meta[`${role}.json`]!.version}.${role}.json`)).signed;
  return Object.hasOwn(binN.targets, path);
}
