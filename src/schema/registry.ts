import { z } from 'zod';
import './metadata.js';
import './data-upload.js';
import './upload-file.js';
import './storage.js';
import { withAliasProperties } from './dto.js';
import { namedSchemas } from './named.js';

/** Every exported Encord object by name, for `schema NAME` and `validate --as NAME`. */
export const SCHEMA_NAMES: readonly string[] = [...namedSchemas.keys()];

export function schemaByName(name: string): z.ZodType | undefined {
  return namedSchemas.get(name);
}

/**
 * The JSON Schema (draft 2020-12) of the input a schema accepts: named objects as `$defs`,
 * both spellings of every field, defaults shown and not required.
 */
export function toJsonSchema(schema: z.ZodType): Record<string, unknown> {
  return z.toJSONSchema(schema, {
    target: 'draft-2020-12',
    io: 'input',
    override: withAliasProperties,
  }) as Record<string, unknown>;
}
