/**
 * The command lines' argument step and runner, shared by scripts/generate.ts and scripts/attribute.ts: Node's
 * parseArgs made strict (strictArgs), and the step around a script's parser (parseArgsOrExit): a
 * UsageError prints the message and the usage (exit code 2), a null parse means --help (usage on
 * stdout, exit code 0).
 */

import { parseArgs, type ParseArgsOptionsConfig } from 'node:util'

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

/** Node's parseArgs, strict, no positionals, with `--help`/`-h`; its errors become UsageErrors. */
export function strictArgs<T extends ParseArgsOptionsConfig>(argv: string[], options: T) {
  try {
    return parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
    }).values
  } catch (e) {
    throw new UsageError((e as Error).message)
  }
}

/** Runs a command line's main and exits with its code; an unexpected error prints its stack (exit 1). */
export function runCli(main: () => Promise<number>): void {
  main().then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`error: ${(e as Error).stack ?? String(e)}\n`)
      process.exit(1)
    },
  )
}
