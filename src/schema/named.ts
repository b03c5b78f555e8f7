import { z } from 'zod';

/**
 * Every exported Encord object is registered here under its SDK class name: `schema NAME`
 * looks names up in `namedSchemas`, and `toJSONSchema` turns the ids (zod's global registry, which
 * also holds the field descriptions) into `$defs` references.
 */
export const namedSchemas = new Map<string, z.ZodType>();

export function named<T extends z.ZodType>(id: string, description: string, schema: T): T {
  if (namedSchemas.has(id)) throw new Error(`schema name ${id} registered twice`);
  z.globalRegistry.add(schema, { id, description });
  namedSchemas.set(id, schema);
  return schema;
}
