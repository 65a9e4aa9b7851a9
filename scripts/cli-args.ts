/**
 * The command lines' argument step, shared by scripts/generate.ts and scripts/attribute.ts: a
 * UsageError from the parser prints the message and the usage (exit code 2), a null parse means
 * --help (usage on stdout, exit code 0).
 */

/** Thrown by a parser for arguments a person got wrong: printed with the usage, exit code 2. */
export class UsageError extends Error {}

/** The parsed arguments, or the exit code to return when there is nothing to run. */
export function parseArgsOrExit<T>(parse: (argv: string[]) => T | null, usage: string): T | number {
  let args: T | null
  try {
    args = parse(process.argv.slice(2))
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`error: ${e.message}\n${usage}\n`)
      return 2
    }
    throw e
  }
  if (!args) {
    process.stdout.write(`${usage}\n`)
    return 0
  }
  return args
}
