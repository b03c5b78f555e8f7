import { UsageError } from '../errors.js';
import { field, isObject } from './forms.js';
import { entryUrls, type SpecEntry } from './model.js';

/** An UploadLongPollingState (camelCase wire keys or snake_case SDK names), normalised. */
export interface UploadJob {
  status: string;
  done: number;
  pending: number;
  errored: number;
  cancelled: number;
  /** Job-level errors. */
  errors: string[];
  unitErrors: UnitError[];
  fileName?: string;
}

/** DataUnitError: one failed item; an image group or DICOM series lists all its URLs. */
export interface UnitError {
  objectUrls: string[];
  error: string;
  subtaskUuid?: string;
  actionDescription?: string;
}

export function readUploadJob(document: unknown): UploadJob {
  if (!isObject(document) || typeof field(document, 'status') !== 'string') {
    throw new UsageError('not an UploadLongPollingState: expected an object with status and unit_errors');
  }
  const count = (name: string) => (typeof field(document, name) === 'number' ? (field(document, name) as number) : 0);
  const fileName = field(document, 'file_name');
  return {
    status: field(document, 'status') as string,
    done: count('units_done_count'),
    pending: count('units_pending_count'),
    errored: count('units_error_count'),
    cancelled: count('units_cancelled_count'),
    errors: strings(field(document, 'errors')),
    unitErrors: list(field(document, 'unit_errors')).filter(isObject).map(readUnitError),
    ...(typeof fileName === 'string' ? { fileName } : {}),
  };
}

function readUnitError(unit: Record<string, unknown>): UnitError {
  const subtaskUuid = field(unit, 'subtask_uuid');
  const actionDescription = field(unit, 'action_description');
  return {
    objectUrls: strings(field(unit, 'object_urls')),
    error: typeof unit.error === 'string' ? unit.error : String(unit.error ?? ''),
    ...(typeof subtaskUuid === 'string' ? { subtaskUuid } : {}),
    ...(typeof actionDescription === 'string' ? { actionDescription } : {}),
  };
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function strings(value: unknown): string[] {
  return list(value).filter((item): item is string => typeof item === 'string');
}

export interface ErrorGroup {
  message: string;
  /** Failed items with this message. */
  count: number;
  urls: string[];
}

/** Unit errors grouped by message, most frequent first. */
export function groupErrors(job: UploadJob): ErrorGroup[] {
  const groups = new Map<string, ErrorGroup>();
  for (const unit of job.unitErrors) {
    const group = groups.get(unit.error) ?? { message: unit.error, count: 0, urls: [] };
    groups.set(unit.error, group);
    group.count++;
    group.urls.push(...unit.objectUrls);
  }
  return [...groups.values()].sort((a, b) => b.count - a.count || a.message.localeCompare(b.message));
}

/**
 * Picks the spec entries an upload job failed on, by object URL. A group or series fails as a
 * whole, so an entry is retried when any of its URLs failed; URLs the spec does not hold are
 * reported by `unmatched()`.
 */
export class RetryPlan {
  private readonly failed: Set<string>;
  private readonly matched = new Set<string>();

  constructor(job: UploadJob) {
    this.failed = new Set(job.unitErrors.flatMap((unit) => unit.objectUrls));
  }

  *select(entries: Iterable<SpecEntry>): Generator<SpecEntry> {
    for (const entry of entries) {
      const failedUrls = entryUrls(entry).filter((url) => this.failed.has(url));
      if (failedUrls.length === 0) continue;
      for (const url of failedUrls) this.matched.add(url);
      yield entry;
    }
  }

  /** Failed URLs no selected entry holds (the job ran on another spec, or the URL was rewritten). */
  unmatched(): string[] {
    return [...this.failed].filter((url) => !this.matched.has(url));
  }
}
