/** A problem in a config: where (a `::` path, or a file / flag), what, and how to fix it. */
export interface ConfigIssue {
  readonly path: string;
  readonly message: string;
  readonly fix: string;
}

export function formatIssue(i: ConfigIssue): string {
  return `${i.path}: ${i.message} (fix: ${i.fix})`;
}

/** Thrown by config loading and validation with every problem found, not just the first. */
export class ConfigError extends Error {
  constructor(readonly issues: readonly ConfigIssue[]) {
    super(issues.map(formatIssue).join('\n'));
    this.name = 'ConfigError';
  }
}
