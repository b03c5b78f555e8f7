import { otherSpelling } from '../schema/casing.js';
import { isPlainObject } from '../schema/dto.js';
import { pointerJoin } from './finding.js';

/** A field of a raw (unparsed) DTO, found under either spelling, with the pointer to it. */
export interface RawField {
  value: unknown;
  pointer: string;
}

export function rawField(object: unknown, name: string, pointer: string): RawField | undefined {
  if (!isPlainObject(object)) return undefined;
  for (const key of [name, otherSpelling(name)]) {
    if (Object.hasOwn(object, key)) return { value: object[key], pointer: pointerJoin(pointer, key) };
  }
  return undefined;
}

/** The raw array under `name`, or [] when it is absent or not an array (the schema reports that). */
export function rawList(object: unknown, name: string, pointer: string): { items: unknown[]; pointer: string } {
  const field = rawField(object, name, pointer);
  return field && Array.isArray(field.value)
    ? { items: field.value, pointer: field.pointer }
    : { items: [], pointer: field?.pointer ?? pointerJoin(pointer, name) };
}
