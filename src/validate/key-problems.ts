import { z } from 'zod';
import { canonicalKey, dtoKeys, fieldSchema, isPlainObject } from '../schema/dto.js';
import { pointerJoin } from './finding.js';
import type { FindingSink } from './sink.js';

/**
 * Key problems the schema lets through. Encord ignores keys its DTOs do not define, so a
 * misspelt field (`videoMetaData`, `file_sise`) silently loses its value: warning `unknown_key`.
 * A field given under both spellings (`file_size` and `fileSize`) is ambiguous: error
 * `conflicting_keys`. Records (client metadata, DICOM tags) are not walked: their keys are the
 * user's.
 */
export function reportKeyProblems(schema: z.ZodType, value: unknown, pointer: string, sink: FindingSink): void {
  const keys = dtoKeys(schema);
  if (keys) {
    if (!isPlainObject(value)) return;
    const owner = z.globalRegistry.get(schema)?.id;
    for (const [key, field] of Object.entries(value)) {
      const name = canonicalKey(keys, key);
      const at = pointerJoin(pointer, key);
      const fieldType = name === undefined ? undefined : fieldSchema(keys, name);
      if (name !== undefined && name !== key && Object.hasOwn(value, name)) {
        sink.error(at, 'conflicting_keys', `"${key}" and "${name}" are the same field; give it once`);
      } else if (fieldType) {
        reportKeyProblems(fieldType, field, at, sink);
      } else {
        sink.warning(at, 'unknown_key', `"${key}" is not a field of ${owner ?? 'this object'}; Encord ignores it`);
      }
    }
    return;
  }
  const def = (schema as z.ZodType).def as z.core.$ZodTypeDef & Record<string, unknown>;
  switch (def.type) {
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'readonly':
      reportKeyProblems(def.innerType as z.ZodType, value, pointer, sink);
      return;
    case 'array':
      if (Array.isArray(value)) {
        value.forEach((item, index) => reportKeyProblems(def.element as z.ZodType, item, pointerJoin(pointer, index), sink));
      }
      return;
    default:
      return;
  }
}
