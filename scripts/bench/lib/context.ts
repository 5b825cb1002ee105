/** What a benchmark gets: the mode, and `emit` for its result lines. */
import { appendFileSync } from "node:fs";
import { loadavg1, machineInfo } from "./env.js";

export interface BenchContext {
  quick: boolean;
  /** Prints one result as one JSON line on stdout, with the machine, versions and load, and appends it to the run's results file. */
  emit(bench: string, result: Record<string, unknown>): void;
  /** Progress for humans, on stderr. */
  log(message: string): void;
}

export interface Benchmark {
  name: string;
  /** One line for --list. */
  describe: string;
  run(ctx: BenchContext): Promise<void>;
}

/** `resultsFile`: where this run's lines are kept (docs/results/<date>-<name>.jsonl), so the docs cite a file, not a memory. */
export function makeContext(quick: boolean, resultsFile: string): BenchContext {
  return {
    quick,
    emit(bench, result) {
      const line = { bench, ...result, quick, load1: loadavg1(), at: new Date().toISOString(), machine: machineInfo() };
      process.stdout.write(`${JSON.stringify(line)}\n`);
      appendFileSync(resultsFile, `${JSON.stringify(line)}\n`);
    },
    log(message) {
      process.stderr.write(`[bench] ${message}\n`);
    },
  };
}
