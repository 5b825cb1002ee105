/**
 * Progress of long CLI work on stderr: a bar with count, rate and ETA,
 * redrawn in place on a terminal; without one (a log, CI), a plain line every
 * few seconds, so logs stay readable.
 */
const PLAIN_EVERY_MS = 5_000;
const REDRAW_EVERY_MS = 200;
const BAR_WIDTH = 24;

export class Progress {
  private readonly started = Date.now();
  private lastDrawn = 0;
  private readonly tty: boolean;

  constructor(
    /** What is counted, plural: "lines". */
    private readonly unit: string,
    /** The total work in `fraction` units, if known (bytes of a file); ETA and the bar need it. */
    private readonly total?: number,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {
    this.tty = stream.isTTY === true;
  }

  /** `count` done so far; `done` of `total` for the bar and ETA. */
  update(count: number, done?: number, force = false): void {
    const now = Date.now();
    if (!force && now - this.lastDrawn < (this.tty ? REDRAW_EVERY_MS : PLAIN_EVERY_MS)) return;
    this.lastDrawn = now;
    const seconds = (now - this.started) / 1000;
    const rate = seconds > 0 ? count / seconds : 0;
    const fraction = this.total && done !== undefined ? Math.min(1, done / this.total) : undefined;
    const eta = fraction !== undefined && fraction > 0 ? (seconds * (1 - fraction)) / fraction : undefined;
    const parts = [
      `${count.toLocaleString("en-US")} ${this.unit}`,
      `${Math.round(rate).toLocaleString("en-US")}/s`,
      ...(fraction === undefined ? [] : [`${(100 * fraction).toFixed(1)}%`]),
      ...(eta === undefined ? [] : [`ETA ${clock(eta)}`]),
      `elapsed ${clock(seconds)}`,
    ];
    if (this.tty) {
      const bar = fraction === undefined ? "" : `[${"#".repeat(Math.round(BAR_WIDTH * fraction)).padEnd(BAR_WIDTH, ".")}] `;
      this.stream.write(`\r\x1b[2K${bar}${parts.join("  ")}`);
    } else this.stream.write(`${parts.join(", ")}\n`);
  }

  /** Ends the bar's line on a terminal, so later output starts on its own line. */
  finish(count: number, done?: number): void {
    this.update(count, done, true);
    if (this.tty) this.stream.write("\n");
  }
}

function clock(seconds: number): string {
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const mmss = `${String(m).padStart(h > 0 ? 2 : 1, "0")}:${String(s % 60).padStart(2, "0")}`;
  return h > 0 ? `${h}:${mmss}` : mmss;
}
