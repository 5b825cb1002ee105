/**
 * The cron triggers of wrangler.toml, fired locally. `wrangler dev` does not
 * run them (it only warns), so a local repository would stop renewing and go
 * 503 within hours; `tuf-edge dev` fires each schedule itself, in UTC as
 * Cloudflare does, through wrangler's /__scheduled test route.
 */
import { readFileSync } from "node:fs";

const FIELDS = [
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day of month", min: 1, max: 31 },
  { name: "month", min: 1, max: 12 },
  { name: "day of week", min: 0, max: 6 },
] as const;

export interface Schedule {
  expression: string;
  matches(at: Date): boolean;
}

/** A five-field cron expression: `*`, `N`, `A-B`, `*\/S`, `A-B/S` and lists of them. */
export function parseCron(expression: string): Schedule {
  const parts = expression.trim().split(/\s+/);
  if (parts.length !== 5) throw new Error(`cron ${JSON.stringify(expression)} must have 5 fields (minute hour day month weekday)`);
  const sets = parts.map((part, i) => {
    const { name, min, max } = FIELDS[i]!;
    const allowed = new Set<number>();
    for (const item of part.split(",")) {
      const m = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(item);
      if (!m) throw new Error(`cron ${JSON.stringify(expression)}: ${name} ${JSON.stringify(item)} is not supported`);
      const from = m[1] === "*" ? min : Number(m[2]);
      const to = m[1] === "*" ? max : m[3] !== undefined ? Number(m[3]) : m[4] !== undefined ? max : from;
      const step = m[4] !== undefined ? Number(m[4]) : 1;
      if (from < min || to > max || from > to || step < 1) throw new Error(`cron ${JSON.stringify(expression)}: ${name} ${JSON.stringify(item)} is out of range`);
      for (let v = from; v <= to; v += step) allowed.add(i === 4 && v === 7 ? 0 : v);
    }
    return allowed;
  });
  return {
    expression,
    matches: (at) =>
      sets[0]!.has(at.getUTCMinutes()) &&
      sets[1]!.has(at.getUTCHours()) &&
      sets[2]!.has(at.getUTCDate()) &&
      sets[3]!.has(at.getUTCMonth() + 1) &&
      sets[4]!.has(at.getUTCDay()),
  };
}

/** The next whole minute after `after` that `schedule` matches (within a year). */
export function nextFire(schedule: Schedule, after: Date): Date {
  const t = new Date(Math.floor(after.getTime() / 60_000) * 60_000 + 60_000);
  for (let i = 0; i < 366 * 24 * 60; i++, t.setTime(t.getTime() + 60_000)) if (schedule.matches(t)) return new Date(t);
  throw new Error(`cron ${JSON.stringify(schedule.expression)} never fires`);
}

/** `[triggers] crons = [...]` of a wrangler.toml. */
export function cronsOf(wranglerToml: string): string[] {
  const triggers = readFileSync(wranglerToml, "utf8").split(/^\[triggers\]$/m)[1]?.split(/^\[/m)[0] ?? "";
  const list = /^crons\s*=\s*\[([^\]]*)\]/m.exec(triggers)?.[1] ?? "";
  return [...list.matchAll(/"([^"]*)"/g)].map((m) => m[1]!);
}

/** Fires `fire(expression)` at each schedule's times until the returned stop() is called. */
export function runSchedules(expressions: readonly string[], fire: (expression: string) => Promise<void>): () => void {
  const timers = new Set<ReturnType<typeof setTimeout>>();
  let stopped = false;
  for (const schedule of expressions.map(parseCron)) {
    const arm = () => {
      if (stopped) return;
      const at = nextFire(schedule, new Date());
      const timer = setTimeout(async () => {
        timers.delete(timer);
        await fire(schedule.expression).catch(() => undefined);
        arm();
      }, at.getTime() - Date.now());
      timers.add(timer);
    };
    arm();
  }
  return () => {
    stopped = true;
    for (const t of timers) clearTimeout(t);
  };
}
