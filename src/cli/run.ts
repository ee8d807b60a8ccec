/**
 * What every command-line tool shares: where it prints, how its failures map to exit codes,
 * and how it exits. A command is a function from arguments to an exit code; it throws
 * UsageError (exit 2, with the usage), CommandError (exit 1) or ConfigError (from loadConfig;
 * exit 2 unless the command says otherwise), and anything else is a failure (exit 1).
 */
import { inspect } from "node:util";
import { ConfigError } from "../config";

export interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
}

/** stdout and stderr, looked up at each call (so tests may replace console's methods). */
export const consoleIo: Io = { out: (line) => console.log(line), err: (line) => console.error(line) };

/** Wrong arguments: the message (when there is one), a blank line and the usage go to stderr. */
export class UsageError extends Error {}

/** The command could not do what was asked: the message goes to stderr. */
export class CommandError extends Error {}

export interface CliCommand {
  usage: string;
  run(argv: string[], io: Io): Promise<number>;
  /** Put before every error line, e.g. `token: `. */
  prefix?: string;
  /** Exit code for an invalid environment (default 2). */
  configErrorExit?: number;
  /** How an unexpected failure is told (default: its message). */
  describeFailure?: (err: unknown) => string;
}

const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** Runs a command and answers its exit code; it never throws. */
export async function runCommandLine(command: CliCommand, argv: string[], io: Io = consoleIo): Promise<number> {
  const prefix = command.prefix ?? "";
  try {
    return await command.run(argv, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(err.message ? `${prefix}${err.message}\n\n${command.usage}` : command.usage);
      return 2;
    }
    if (err instanceof ConfigError) {
      io.err(`${prefix}${err.message}`);
      return command.configErrorExit ?? 2;
    }
    if (err instanceof CommandError) {
      io.err(`${prefix}${err.message}`);
      return 1;
    }
    io.err(command.describeFailure ? command.describeFailure(err) : `${prefix}${messageOf(err)}`);
    return 1;
  }
}

/** The whole failure as console.error would print it (stack included), for tools run by developers. */
export const withStack = (err: unknown): string => inspect(err);

/**
 * When `module` is the process's entry, runs the command on the process's arguments and exits
 * with its code once stdout and stderr are flushed.
 */
export function runIfMain(module: NodeJS.Module, command: CliCommand): void {
  if (require.main !== module) return;
  void runCommandLine(command, process.argv.slice(2)).then((code) => {
    process.exitCode = code;
    process.stdout.write("", () => process.stderr.write("", () => process.exit(code)));
  });
}
