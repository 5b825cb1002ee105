/**
 * Test-only crash points, so test/e2e/crash.test.ts can SIGKILL workerd at an exact step of a publish.
 *
 * `CRASH_AT` is a Worker var that wrangler.toml never sets, so it is off in every deployment, and no
 * request can set it. When it names a step, the Publisher logs `{"event":"crash_point","at":…}` and
 * then waits forever at that step; the test kills workerd there and starts it again without the var.
 * `CRASH_AT=<step>,no-alarm` also deletes the Durable Object's alarm first, so a test can show that
 * the next request alone, with no alarm to help, finishes the publish.
 */
export type CrashStep =
  | "after-begin" // the reservation is committed in SQLite; nothing is in R2 yet
  | "bins-partial" // each bin writer stops after its first bin-n file (some bins written, progress not recorded)
  | "after-snapshot" // every bin-n, offline role and N.snapshot.json is written; timestamp.json is not
  | "after-timestamp" // timestamp.json is written; a new root and the commit are not
  | "after-root" // the new root is written last; the commit is not
  | "sweep"; // the retention sweep has deleted a chunk from R2 but not yet from SQLite

export async function crashPoint(env: { CRASH_AT?: string }, storage: DurableObjectStorage, step: CrashStep): Promise<void> {
  const [at, option] = (env.CRASH_AT ?? "").split(",");
  if (at !== step) return;
  if (option === "no-alarm") await storage.deleteAlarm();
  console.log(JSON.stringify({ event: "crash_point", at }));
  await new Promise<never>(() => {});
}
