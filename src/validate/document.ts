import { z } from 'zod';
import { canonicalKey, dtoKeys, fieldSchema, isPlainObject, type DtoKeys } from '../schema/dto.js';
import { UsageError } from '../errors.js';
import type { Finding } from './finding.js';
import { reportIssues } from './issues.js';
import { detectKind, documentKind, DOCUMENT_KINDS } from './kinds.js';
import { DEFAULT_MAX_FINDINGS, FindingSink } from './sink.js';
import { reportKeyProblems } from './key-problems.js';
import { joinPointer } from './pointer.js';
import { arrayElement } from './schema-walk.js';

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
  reportSchemaIssues(entry.schema, document, sink);
  reportKeyProblems(entry.schema, document, '', sink);
  entry.check?.(document, sink);
  return kind;
}

/**
 * Parses the document's top-level lists item by item, the rest as a shell with those lists
 * empty: each item's parsed copy dies young instead of a copy of the whole document surviving
 * to the end, which halves the time of a 100 MB upload file (garbage collection). The lists
 * carry no checks of their own (no length limits), so nothing is lost.
 */
function reportSchemaIssues(schema: z.ZodType, document: unknown, sink: FindingSink): void {
  const keys = dtoKeys(schema);
  const lists = keys && isPlainObject(document) ? topLevelLists(keys, document) : [];
  if (lists.length === 0) {
    reportIssues(issuesOf(schema, document), document, '', sink);
    return;
  }
  const shell: Record<string, unknown> = { ...(document as Record<string, unknown>) };
  for (const { key } of lists) shell[key] = [];
  reportIssues(issuesOf(schema, shell), shell, '', sink);
  for (const { key, name, element, items } of lists) {
    const listPointer = joinPointer('', key);
    items.forEach((item, index) => {
      reportIssues(issuesOf(element, item), item, joinPointer(listPointer, index), sink, [name, index]);
    });
  }
}

interface TopLevelList {
  /** The key as the document spells it, and its canonical name. */
  key: string;
  name: string;
  element: z.ZodType;
  items: unknown[];
}

function topLevelLists(keys: DtoKeys, document: Record<string, unknown>): TopLevelList[] {
  return Object.entries(document).flatMap(([key, value]) => {
    const name = canonicalKey(keys, key);
    const field = name === undefined ? undefined : fieldSchema(keys, name);
    const element = field && arrayElement(field);
    return name !== undefined && element && Array.isArray(value) ? [{ key, name, element, items: value }] : [];
  });
}

const compiled = new WeakMap<z.ZodType, z.ZodType>();

/**
 * The schema's issues with `value`, through zod's compiled fast path (2-3x faster on valid input;
 * invalid input falls back to the runtime parser, so the issues are the same) and the Standard
 * Schema interface, which skips building a ZodError (an Error with a stack trace) per bad item.
 */
function issuesOf(schema: z.ZodType, value: unknown): readonly z.core.$ZodIssue[] {
  let parser = compiled.get(schema);
  if (!parser) {
    parser = z.core.compile(schema);
    compiled.set(schema, parser);
  }
  const result = parser['~standard'].validate(value);
  if (result instanceof Promise) throw new Error('Encord schemas are synchronous');
  return (result.issues ?? []) as readonly z.core.$ZodIssue[];
}
