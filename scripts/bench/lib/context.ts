/** What a benchmark gets: the mode, and `emit` for its result lines. */
import { loadavg1, machineInfo } from "./env.js";

export interface BenchContext {
  quick: boolean;
  /** Prints one result as one JSON line on stdout, with the machine, versions and load. */
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

export function makeContext(quick: boolean): BenchContext {
  return {
    quick,
    emit(bench, result) {
      const line = { bench, ...result, quick, load1: loadavg1(), at: new Date().toISOString(), machine: machineInfo() };
      process.stdout.write(`${JSON.stringify(line)}\n`);
    },
    log(message) {
      process.stderr.write(`[bench] ${message}\n`);
    },
  };
}
