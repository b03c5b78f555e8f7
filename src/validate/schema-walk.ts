import type { z } from 'zod';

type Def = z.core.$ZodTypeDef & { innerType?: z.ZodType; element?: z.ZodType };

const WRAPPERS = new Set(['optional', 'nullable', 'default', 'prefault', 'readonly']);

/** The schema under optional/nullable/default wrappers. */
export function unwrap(schema: z.ZodType): z.ZodType {
  let current = schema;
  for (let def = current.def as Def; WRAPPERS.has(def.type) && def.innerType; def = current.def as Def) current = def.innerType;
  return current;
}

/** The element schema when `schema` (unwrapped) is an array. */
export function arrayElement(schema: z.ZodType): z.ZodType | undefined {
  const def = unwrap(schema).def as Def;
  return def.type === 'array' ? def.element : undefined;
}
