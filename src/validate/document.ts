import { UsageError } from '../errors.js';
import type { Finding } from './finding.js';
import { reportIssues } from './issues.js';
import { detectKind, documentKind, DOCUMENT_KINDS } from './kinds.js';
import { DEFAULT_MAX_FINDINGS, FindingSink } from './sink.js';
import { reportKeyProblems } from './key-problems.js';

export interface ValidateOptions {
  /** Validate as this kind (see DOCUMENT_KINDS) instead of detecting it from the keys. */
  as?: string;
  /** Findings kept; counts cover all of them. Default 1000. */
  maxFindings?: number;
}

export interface DocumentValidation {
  /** The kind validated as; undefined when it could not be detected. */
  kind: string | undefined;
  /** No error findings (warnings allowed). */
  valid: boolean;
  findings: Finding[];
  errorCount: number;
  warningCount: number;
  /** Findings counted but not kept (beyond maxFindings). */
  omittedCount: number;
}

export function validationResult(kind: string | undefined, sink: FindingSink): DocumentValidation {
  return {
    kind,
    valid: sink.errorCount === 0,
    findings: sink.findings,
    errorCount: sink.errorCount,
    warningCount: sink.warningCount,
    omittedCount: sink.omitted,
  };
}

/** Throws UsageError for a kind that is not one of DOCUMENT_KINDS. */
export function assertKnownKind(kind: string): void {
  if (!documentKind(kind)) throw new UsageError(`unknown kind "${kind}"; one of: ${DOCUMENT_KINDS.join(', ')}`);
}

/**
 * Validates one parsed JSON document: its schema (types and value limits), keys Encord would
 * ignore or that are given twice, and the rules beyond the schema for its kind.
 */
export function validateDocument(document: unknown, options: ValidateOptions = {}): DocumentValidation {
  if (options.as !== undefined) assertKnownKind(options.as);
  const sink = new FindingSink(options.maxFindings ?? DEFAULT_MAX_FINDINGS);
  return validationResult(validateInto(document, options.as, sink), sink);
}

/** Validates into a shared sink (JSONL: one sink for every line); returns the kind used. */
export function validateInto(document: unknown, as: string | undefined, sink: FindingSink): string | undefined {
  const kind = as ?? detectKind(document);
  const entry = kind === undefined ? undefined : documentKind(kind);
  if (!entry) {
    sink.error('', 'unknown_kind', 'cannot tell what this document is; name its kind with --as');
    return undefined;
  }
  const parsed = entry.schema.safeParse(document);
  if (!parsed.success) reportIssues(parsed.error.issues, document, '', sink);
  reportKeyProblems(entry.schema, document, '', sink);
  entry.check?.(document, sink);
  return kind;
}
