/** The online-key rotation upload of docs/operations.md section 7, signed by the fixture's holders. */
import {
  Delegations,
  Ed25519Signer,
  Metadata,
  Role,
  Root,
  SuccinctRoles,
  Targets,
} from "../../src/tuf/index.js";
import { ADMIN_TOKEN } from "../fixtures/ceremony.js";
import type { Repo } from "./harness.js";

const YEAR = 365 * 86_400_000;

/** Waits for the Worker to serve root `version`, which it holds back TIMESTAMP_MAX_AGE (+1 s) after a key-moving upload. */
export async function untilServed(repo: Repo, version: number, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await fetch(`${repo.worker.url}/metadata/${version}.root.json`)).status !== 200) {
    if (Date.now() > deadline) throw new Error(`root v${version} was not served within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Root v2 and bins v2 naming `next` for snapshot, timestamp and every bin-n, signed by the fixture's holders, uploaded together. */
export async function uploadRotation(repo: Repo, next: Ed25519Signer): Promise<{ root2: Metadata<Root>; bins2: Metadata<Targets>; res: Response }> {
  const root1 = Metadata.fromJSON("root", repo.ceremony.root).signed;
  const keys = { ...root1.keys };
  delete keys[repo.ceremony.signers.online.key.keyid];
  keys[next.key.keyid] = next.key;
  let root2 = new Metadata(
    new Root(
      { version: 2, expires: new Date(Date.now() + YEAR) },
      keys,
      { ...root1.roles, snapshot: new Role([next.key.keyid], 1), timestamp: new Role([next.key.keyid], 1) },
      true,
    ),
  );
  for (const s of repo.ceremony.signers.root.slice(0, 2)) root2 = await root2.sign(s);
  const succinct = Metadata.fromJSON("targets", repo.ceremony.bins).signed.delegations!.succinctRoles!;
  let bins2 = new Metadata(
    new Targets(
      { version: 2, expires: new Date(Date.now() + YEAR) },
      {},
      new Delegations({ [next.key.keyid]: next.key }, undefined, new SuccinctRoles([next.key.keyid], 1, succinct.bitLength, succinct.namePrefix)),
    ),
  );
  for (const s of repo.ceremony.signers.targets) bins2 = await bins2.sign(s);
  const res = await repo.post("/api/v1/metadata", { root: root2.toJSON(), bins: bins2.toJSON() }, { authorization: `Bearer ${ADMIN_TOKEN}` });
  return { root2, bins2, res };
}

/** One client refreshing over and over until stopped; every failed refresh is kept. */
export class RefreshLoop {
  refreshes = 0;
  readonly failures: string[] = [];
  /** The trusted root version after each refresh, where the client tells it. */
  readonly roots = new Set<number>();
  private running = true;
  private paused: Promise<void> | undefined;
  private resume: (() => void) | undefined;
  private idle: (() => void) | undefined;
  private readonly done: Promise<void>;

  constructor(
    readonly name: string,
    private readonly refresh: (path: string) => Promise<{ found: boolean; root?: number }>,
    private readonly lookup: () => string,
  ) {
    this.done = this.run();
  }

  private async run(): Promise<void> {
    while (this.running) {
      if (this.paused) {
        this.idle?.();
        await this.paused;
        continue;
      }
      // Chosen before the refresh starts: a target published while it runs may rightly be missing.
      const path = this.lookup();
      try {
        const { found, root } = await this.refresh(path);
        if (root !== undefined) this.roots.add(root);
        if (!found) this.failures.push(`${this.name} refresh ${this.refreshes}: ${path} not found`);
      } catch (e) {
        this.failures.push(`${this.name} refresh ${this.refreshes}: ${(e as Error).message}`);
      }
      this.refreshes++;
    }
  }

  async pause(): Promise<void> {
    const idle = new Promise<void>((resolve) => (this.idle = resolve));
    this.paused = new Promise((resolve) => (this.resume = resolve));
    await idle;
  }

  unpause(): void {
    this.paused = undefined;
    this.resume?.();
  }

  async atLeast(n: number): Promise<void> {
    const target = this.refreshes + n;
    while (this.refreshes < target && this.running) await new Promise((r) => setTimeout(r, 20));
  }

  async stop(): Promise<void> {
    this.running = false;
    this.unpause();
    await this.done;
  }
}
