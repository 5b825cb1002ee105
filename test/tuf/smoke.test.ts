import { expect, it } from "vitest";
import { Key } from "../../src/tuf/index.js";
it("keyid vector", () => {
  expect(Key.fromJSON({keytype:"ed25519",scheme:"ed25519",keyval:{public:"72378e5bc588793e58f81c8533da64a2e8f1565c1fcc7f253496394ffc52542c"}}).keyid).toBe("1bf1c6e3cdd3d3a8420b19199e27511999850f4b376c4547b2f32fba7e80fca3");
});
