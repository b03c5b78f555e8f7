import type { z } from 'zod';
import { EncordMediaError } from '../errors.js';
import { snakeToCamel } from './casing.js';
import { DataUploadItems } from './data-upload.js';
import { isPlainObject } from './dto.js';
import {
  CustomerProvidedAudioMetadata,
  CustomerProvidedDicomSeriesDicomFileMetadata,
  CustomerProvidedImageMetadata,
  CustomerProvidedPdfMetadata,
  CustomerProvidedTextMetadata,
  CustomerProvidedVideoMetadata,
} from './metadata.js';
import { JsonUploadFile } from './upload-file.js';

/**
 * One canonical spelling per form: snake_case inside *Metadata objects; the documented JSON
 * upload file as the docs write it; camelCase with null fields dropped for the SDK `dataItems`
 * wire form (what `to_dict(by_alias=True, exclude_none=True)` sends). Each function accepts
 * either spelling and throws EncordMediaError('invalid_document') on input its schema rejects.
 */

export const METADATA_SCHEMAS = {
  image: CustomerProvidedImageMetadata,
  video: CustomerProvidedVideoMetadata,
  audio: CustomerProvidedAudioMetadata,
  text: CustomerProvidedTextMetadata,
  pdf: CustomerProvidedPdfMetadata,
  dicom: CustomerProvidedDicomSeriesDicomFileMetadata,
} as const;
export type MetadataKind = keyof typeof METADATA_SCHEMAS;
export type CanonicalMetadata<K extends MetadataKind> = K extends 'dicom'
  ? CustomerProvidedDicomSeriesDicomFileMetadata
  : z.output<(typeof METADATA_SCHEMAS)[K]>;

function parseOrThrow<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const problems = result.error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(root)'}: ${issue.message}`);
  const more = result.error.issues.length > 5 ? `; and ${result.error.issues.length - 5} more` : '';
  throw new EncordMediaError('invalid_document', `not a valid ${what}: ${problems.join('; ')}${more}`);
}

export function canonicalMetadata<K extends MetadataKind>(kind: K, value: unknown): CanonicalMetadata<K> {
  return parseOrThrow(METADATA_SCHEMAS[kind] as z.ZodType, value, `${kind} metadata`) as CanonicalMetadata<K>;
}

export function canonicalUploadFile(value: unknown): JsonUploadFile {
  return parseOrThrow(JsonUploadFile, value, 'JSON upload file');
}

/** DataUploadItems in the SDK's field names, every default filled in. */
export function parseDataItems(value: unknown): DataUploadItems {
  return parseOrThrow(DataUploadItems, value, 'DataUploadItems');
}

/** Values under these keys are the user's data or DICOM JSON, sent verbatim. */
const VERBATIM_KEYS = new Set(['client_metadata', 'tags']);

function toWire(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(toWire);
  if (!isPlainObject(value)) return value;
  const wire: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) {
    if (field === null || field === undefined) continue;
    wire[snakeToCamel(key)] = VERBATIM_KEYS.has(key) ? field : toWire(field);
  }
  return wire;
}

/** The `dataItems` body the SDK sends for these items (camelCase keys, null fields dropped). */
export function toDataItemsWire(value: unknown): Record<string, unknown> {
  return toWire(parseDataItems(value)) as Record<string, unknown>;
}
