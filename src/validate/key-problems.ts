import { z } from 'zod';
import { canonicalKey, dtoKeys, fieldSchema, isPlainObject, type DtoKeys } from '../schema/dto.js';
import { joinPointer } from './pointer.js';
import { arrayElement, unwrap } from './schema-walk.js';
import type { FindingSink } from './sink.js';

/**
 * Key problems the schema lets through. Encord ignores keys its DTOs do not define, so a
 * misspelt field (`videoMetaData`, `file_sise`) silently loses its value: warning `unknown_key`.
 * A field given under both spellings (`file_size` and `fileSize`) is ambiguous: error
 * `conflicting_keys`. Records (client metadata, DICOM tags) are not walked: their keys are the
 * user's.
 */
export function reportKeyProblems(schema: z.ZodType, value: unknown, pointer: string, sink: FindingSink): void {
  const keys = dtoKeys(unwrap(schema));
  if (keys) {
    if (isPlainObject(value)) reportDtoKeys(unwrap(schema), keys, value, pointer, sink);
    return;
  }
  const element = arrayElement(schema);
  if (element && mayHoldDtos(element) && Array.isArray(value)) {
    value.forEach((item, index) => reportKeyProblems(element, item, joinPointer(pointer, index), sink));
  }
}

function reportDtoKeys(schema: z.ZodType, keys: DtoKeys, value: Record<string, unknown>, pointer: string, sink: FindingSink): void {
  for (const key of Object.keys(value)) {
    const name = canonicalKey(keys, key);
    if (name === undefined) {
      const owner = z.globalRegistry.get(schema)?.id ?? 'this object';
      sink.warning(joinPointer(pointer, key), 'unknown_key', `"${key}" is not a field of ${owner}; Encord ignores it`);
    } else if (name !== key && Object.hasOwn(value, name)) {
      sink.error(joinPointer(pointer, key), 'conflicting_keys', `"${key}" and "${name}" are the same field; give it once`);
    } else {
      const field = fieldSchema(keys, name);
      if (field && mayHoldDtos(field)) reportKeyProblems(field, value[key], joinPointer(pointer, key), sink);
    }
  }
}

const holdsDtos = new WeakMap<z.ZodType, boolean>();

/** Whether values of `schema` can contain DTOs (most fields are scalars: skip them fast). */
function mayHoldDtos(schema: z.ZodType): boolean {
  let known = holdsDtos.get(schema);
  if (known === undefined) {
    const element = arrayElement(schema);
    known = dtoKeys(unwrap(schema)) !== undefined || (element !== undefined && mayHoldDtos(element));
    holdsDtos.set(schema, known);
  }
  return known;
}
