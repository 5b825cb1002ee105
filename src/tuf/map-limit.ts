/**
 * Bounded concurrency for I/O over many items: metadata downloads in the
 * client, R2 writes in the Publisher, reads in the CLI. Pure: no timers, no
 * platform imports.
 */

/**
 * Runs `fn` over `items`, at most `limit` at a time, and resolves once all are done.
 * After the first failure no new item starts; the returned promise rejects with it.
 */
export async function mapLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < items.length) {
      try {
        await fn(items[next++]!);
      } catch (e) {
        failed = true;
        throw e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}
