import { REQUIRED_DICOM_TAGS } from '../schema/dicom.js';
import type { CustomerProvidedDicomSeriesDicomFileMetadata } from '../schema/metadata.js';
import { pointerJoin } from '../validate/finding.js';

/**
 * Compares what a spec (or a storage record) says about a file with what the file is. Floats get
 * the tolerances a re-encode or a rounding printer cannot avoid: fps 1e-3 relative, duration
 * 0.01 s; everything else must match exactly.
 */

export interface Difference {
  /** JSON Pointer of the differing value. */
  pointer: string;
  code: 'field_differs' | 'field_missing' | 'dicom_tag_missing' | 'dicom_tag_differs';
  message: string;
  field: string;
  /** The value the spec gives (absent when missing). */
  spec?: unknown;
  /** The value read from the file. */
  file: unknown;
}

const FPS_RELATIVE_TOLERANCE = 1e-3;
const DURATION_TOLERANCE_SECONDS = 0.01;

export function sameFieldValue(field: string, spec: unknown, file: unknown): boolean {
  const specNumber = asNumber(spec);
  if (typeof file === 'number' && specNumber !== undefined) {
    if (field === 'fps') return Math.abs(specNumber - file) <= FPS_RELATIVE_TOLERANCE * Math.abs(file);
    if (field === 'duration') return Math.abs(specNumber - file) <= DURATION_TOLERANCE_SECONDS;
    return specNumber === file;
  }
  return spec === file;
}

/** Numbers, and numeric strings (pydantic's lax mode reads "30" as 30.0). */
function asNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
  return undefined;
}

/**
 * Every field of `file` (probed metadata) that `spec` lacks or gives differently. `spelling`
 * turns a snake_case field into the key the document uses at `pointer`.
 */
export function compareMetadata(
  spec: Record<string, unknown>,
  file: Record<string, unknown>,
  pointer: string,
  spelling: (field: string) => string = (field) => field,
): Difference[] {
  const differences: Difference[] = [];
  const swapped = isSwapped(spec, file);
  for (const [field, fileValue] of Object.entries(file)) {
    const at = pointerJoin(pointer, spelling(field));
    if (!Object.hasOwn(spec, field) || spec[field] === null) {
      differences.push({ pointer: at, code: 'field_missing', field, file: fileValue, message: `${field} missing in spec, ${show(fileValue)} in file` });
    } else if (!sameFieldValue(field, spec[field], fileValue)) {
      const hint = swapped && (field === 'width' || field === 'height') ? ' (width and height swapped: EXIF orientation or rotation?)' : '';
      const message = `${field} ${show(spec[field])} in spec, ${show(fileValue)} in file${hint}`;
      differences.push({ pointer: at, code: 'field_differs', field, spec: spec[field], file: fileValue, message });
    }
  }
  return differences;
}

function isSwapped(spec: Record<string, unknown>, file: Record<string, unknown>): boolean {
  return file.width !== file.height && asNumber(spec.width) === file.height && asNumber(spec.height) === file.width;
}

type Tags = CustomerProvidedDicomSeriesDicomFileMetadata['tags'];

/** The 22 required tags: each must be a key of the spec's tags and equal the file's element. */
export function compareDicomTags(spec: Record<string, unknown>, file: Tags, pointer: string): Difference[] {
  const differences: Difference[] = [];
  for (const { tag, keyword } of REQUIRED_DICOM_TAGS) {
    const fileValue = file[tag] ?? null;
    const at = pointerJoin(pointer, tag);
    if (!Object.hasOwn(spec, tag)) {
      const message = `${tag} ${keyword} missing in spec, ${showElement(fileValue)} in file`;
      differences.push({ pointer: at, code: 'dicom_tag_missing', field: tag, file: fileValue, message });
    } else if (!sameJson(spec[tag], fileValue)) {
      const message = `${tag} ${keyword} ${showElement(spec[tag])} in spec, ${showElement(fileValue)} in file`;
      differences.push({ pointer: at, code: 'dicom_tag_differs', field: tag, spec: spec[tag], file: fileValue, message });
    }
  }
  return differences;
}

/** Deep equality of JSON values, a numeric string equal to its number (DS/IS written as text). */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a === 'number' || typeof b === 'number') {
    const [x, y] = [asNumber(a), asNumber(b)];
    return x !== undefined && x === y;
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((value, i) => sameJson(value, b[i]));
  }
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  const keysA = Object.keys(a);
  const keysB = Object.keys(b);
  return keysA.length === keysB.length && keysA.every((key) => Object.hasOwn(b, key) && sameJson((a as never)[key], (b as never)[key]));
}

function showElement(element: unknown): string {
  if (element === null || typeof element !== 'object') return show(element);
  const { Value, InlineBinary, BulkDataURI } = element as Record<string, unknown>;
  if (Value !== undefined) return JSON.stringify(Value);
  if (InlineBinary !== undefined) return 'inline binary';
  if (BulkDataURI !== undefined) return `bulk data ${show(BulkDataURI)}`;
  return 'empty';
}

/** Values as a person reads them: floats to 4 decimals (29.97002997 -> 29.97), strings quoted. */
export function show(value: unknown): string {
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : String(Number(value.toFixed(4)));
  if (typeof value === 'string') return JSON.stringify(value);
  return value === undefined ? 'nothing' : JSON.stringify(value);
}
