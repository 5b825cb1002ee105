/**
 * What a CLI command is. Each command lives in its own file under scripts/cli/
 * and exports one `Command`; scripts/cli/main.ts lists them in its table.
 */
export interface Command {
  /** One line for `tuf-edge --help`. */
  summary: string;
  /** The full text for `tuf-edge CMD --help`, starting with "usage: tuf-edge CMD ...". */
  usage: string;
  /**
   * Runs with the arguments after the command name and returns the exit code.
   * Throw a CliError (or UsageError) for anything the user can fix: main()
   * prints it as one line and returns its exit code.
   */
  run(args: string[]): Promise<number>;
}
