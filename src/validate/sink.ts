import type { Finding } from './finding.js';

export type Severity = Finding['severity'];

/** Default cap on findings kept per document; counts always cover every finding. */
export const DEFAULT_MAX_FINDINGS = 1000;

/**
 * Collects findings for one validation. A document with 500,000 bad items must not produce
 * 500,000 findings in memory: past `maxFindings` only the counts grow.
 */
export class FindingSink {
  readonly findings: Finding[] = [];
  errorCount = 0;
  warningCount = 0;
  /** Findings counted but not kept. */
  omitted = 0;
  /** Set on each finding added, when validating several inputs (e.g. 'specs.jsonl:12'). */
  file: string | undefined;

  constructor(private readonly maxFindings: number = DEFAULT_MAX_FINDINGS) {}

  add(finding: Finding): void {
    if (this.file !== undefined) finding = { ...finding, file: this.file };
    if (finding.severity === 'error') this.errorCount += 1;
    else this.warningCount += 1;
    if (this.findings.length < this.maxFindings) this.findings.push(finding);
    else this.omitted += 1;
  }

  error(pointer: string, code: string, message: string): void {
    this.add({ pointer, code, severity: 'error', message });
  }

  warning(pointer: string, code: string, message: string): void {
    this.add({ pointer, code, severity: 'warning', message });
  }
}
