/**
 * Where the CLI writes. Results go to stdout, warnings and errors to stderr,
 * one line at a time, through process.stdout/stderr so tests can capture them.
 * Nothing here may ever be handed private key material.
 */
export function print(line = ""): void {
  process.stdout.write(`${line}\n`);
}

export function warn(line: string): void {
  process.stderr.write(`warning: ${line}\n`);
}

/** Left-aligned columns, two spaces apart; the last column is not padded. */
export function table(rows: readonly (readonly string[])[]): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd(),
  );
}
