/** mapLimit: the one bounded-concurrency helper the client, the Publisher and the CLI share. */
import { describe, expect, it } from "vitest";
import { mapLimit } from "../../src/tuf/index.js";

const tick = () => new Promise((resolve) => setTimeout(resolve, 1));

describe("mapLimit", () => {
  it("runs every item, never more than `limit` at once", async () => {
    let running = 0;
    let most = 0;
    const done: number[] = [];
    await mapLimit([...Array(20).keys()], 3, async (i) => {
      most = Math.max(most, ++running);
      await tick();
      running--;
      done.push(i);
    });
    expect(most).toBe(3);
    expect(done.sort((a, b) => a - b)).toEqual([...Array(20).keys()]);
  });

  it("rejects with the first failure, and starts no item after it", async () => {
    const started: number[] = [];
    const run = mapLimit([...Array(10).keys()], 2, async (i) => {
      started.push(i);
      await tick();
      if (i === 1) throw new Error("item 1 failed");
    });
    await expect(run).rejects.toThrow("item 1 failed");
    await tick();
    expect(started).toEqual([0, 1, 2]);
  });

  it("resolves at once for no items", async () => {
    await expect(mapLimit([], 4, async () => expect.fail("called"))).resolves.toBeUndefined();
  });
});
