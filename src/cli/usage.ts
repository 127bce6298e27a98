// The leaf every CLI module may import: an option's spec and the usage error.

/** One option of a command, as parseArgs takes it, plus its help text. */
export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  /** Placeholder shown in the help, e.g. 'N' in `--count N`. */
  arg?: string;
  help: string;
}

/** A mistake on the command line: reported in one line, exit status 2. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly command?: string,
  ) {
    super(message);
  }
  override get name(): string {
    return 'UsageError';
  }
}
