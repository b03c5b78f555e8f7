import { z } from 'zod';
import { otherSpelling } from './casing.js';

/**
 * Encord DTOs are pydantic models that ignore unknown keys and accept every field under its
 * snake_case name or camelCase alias. `dto()` builds the zod schema for one: input keys are
 * renamed to the canonical spelling, keys the DTO does not know are dropped, and the parsed
 * output is the canonical object. The JSON Schema export lists both spellings
 * (`withAliasProperties`).
 */

/** The keys of one DTO: canonical names, alias -> canonical, and patterned keys (`objectUrl_0`, ...). */
export interface DtoKeys {
  canonical: ReadonlySet<string>;
  aliases: ReadonlyMap<string, string>;
  patterns: readonly { pattern: RegExp; schema: z.ZodType }[];
  /** The schema of each canonical field. */
  shape: Readonly<Record<string, z.ZodType>>;
}

/** Keyed by both the exported schema and its inner z.object, so validators and the JSON Schema override find them. */
const keysBySchema = new WeakMap<object, DtoKeys>();

/** The keys a DTO schema accepts, or undefined when `schema` was not built by `dto()`. */
export function dtoKeys(schema: unknown): DtoKeys | undefined {
  return typeof schema === 'object' && schema !== null ? keysBySchema.get(schema) : undefined;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describeKeys(shape: z.ZodRawShape, patternKeys: Record<string, z.ZodType> = {}): DtoKeys {
  const names = Object.keys(shape);
  const aliases = new Map<string, string>();
  for (const name of names) {
    const alias = otherSpelling(name);
    if (alias !== name) aliases.set(alias, name);
  }
  const patterns = Object.entries(patternKeys).map(([source, schema]) => ({ pattern: new RegExp(source), schema }));
  return { canonical: new Set(names), aliases, patterns, shape: shape as Record<string, z.ZodType> };
}

/** The schema of the field `name` (canonical or patterned). */
export function fieldSchema(keys: DtoKeys, name: string): z.ZodType | undefined {
  return keys.shape[name] ?? keys.patterns.find(({ pattern }) => pattern.test(name))?.schema;
}

/** The canonical name of `key` in this DTO, or undefined when the DTO does not know the key. */
export function canonicalKey(keys: DtoKeys, key: string): string | undefined {
  if (keys.canonical.has(key)) return key;
  const aliased = keys.aliases.get(key);
  if (aliased !== undefined) return aliased;
  return keys.patterns.some(({ pattern }) => pattern.test(key)) ? key : undefined;
}

function toCanonicalKeys(input: unknown, keys: DtoKeys): unknown {
  if (!isPlainObject(input)) return input;
  const output: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input)) {
    const name = canonicalKey(keys, key);
    // With both spellings given the canonical one is kept; the validator reports the conflict.
    if (name === undefined || (name !== key && Object.hasOwn(input, name))) continue;
    output[name] = value;
  }
  return output;
}

function register(keys: DtoKeys, ...schemas: object[]): void {
  for (const schema of schemas) keysBySchema.set(schema, keys);
}

/** A DTO whose fields are exactly `shape` (canonical names), accepting the other spelling of each. */
export function dto<Shape extends z.ZodRawShape>(shape: Shape) {
  const object = z.object(shape);
  const keys = describeKeys(shape);
  const schema = z.preprocess((input) => toCanonicalKeys(input, keys), object);
  register(keys, object, schema);
  return schema;
}

/**
 * A DTO with numbered keys besides its fields, as the JSON upload file gives the frames of an
 * image group (`objectUrl_0`, `objectUrl_1`, ...). `patternKeys` maps a regex source to the schema
 * of the values of matching keys.
 */
export function dtoWithPatternKeys<Shape extends z.ZodRawShape>(
  shape: Shape,
  patternKeys: Record<string, z.ZodType>,
): z.ZodType<z.output<z.ZodObject<Shape>> & Record<string, unknown>> {
  const object = z.object(shape);
  const records = Object.entries(patternKeys).map(([source, valueSchema]) =>
    z.looseRecord(z.string().regex(new RegExp(source)), valueSchema),
  );
  const keys = describeKeys(shape, patternKeys);
  const combined = records.reduce<z.ZodType>((all, record) => z.intersection(all, record), object);
  const schema = z.preprocess((input) => toCanonicalKeys(input, keys), combined);
  register(keys, object, schema);
  return schema as unknown as z.ZodType<z.output<z.ZodObject<Shape>> & Record<string, unknown>>;
}

type JsonSchemaNode = z.core.JSONSchema.BaseSchema;

/**
 * `toJSONSchema` override: a DTO object also lists each field's alias and requires one of the
 * two spellings where the field is required.
 */
export function withAliasProperties(ctx: { zodSchema: unknown; jsonSchema: JsonSchemaNode }): void {
  // The override also sees the preprocess pipe, whose JSON is copied from the object: act once.
  if (!(ctx.zodSchema instanceof z.ZodObject)) return;
  const keys = dtoKeys(ctx.zodSchema);
  const json = ctx.jsonSchema;
  if (!keys || !json.properties) return;
  const properties = json.properties;
  const required = new Set(json.required ?? []);
  const rules: JsonSchemaNode[] = [];
  for (const [alias, name] of keys.aliases) {
    const property = properties[name];
    if (property === undefined) continue;
    properties[alias] = structuredClone(property);
    if (required.delete(name)) rules.push({ anyOf: [{ required: [name] }, { required: [alias] }] });
  }
  if (required.size > 0) json.required = [...required];
  else delete json.required;
  if (rules.length > 0) json.allOf = [...(json.allOf ?? []), ...rules];
}
