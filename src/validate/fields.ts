import { otherSpelling } from '../schema/casing.js';
import { isPlainObject } from '../schema/dto.js';
import { joinPointer } from './pointer.js';

/**
 * A field of a raw (unparsed) DTO, found under either spelling. Its pointer is built only when
 * asked for: most fields of a large document are never reported.
 */
export class RawField {
  constructor(
    readonly value: unknown,
    private readonly parent: string,
    private readonly key: string,
  ) {}

  get pointer(): string {
    return joinPointer(this.parent, this.key);
  }
}

export function rawField(object: unknown, name: string, pointer: string): RawField | undefined {
  if (!isPlainObject(object)) return undefined;
  if (Object.hasOwn(object, name)) return new RawField(object[name], pointer, name);
  const alias = otherSpelling(name);
  return Object.hasOwn(object, alias) ? new RawField(object[alias], pointer, alias) : undefined;
}

/** The raw array under `name`, or [] when it is absent or not an array (the schema reports that). */
export function rawList(object: unknown, name: string, pointer: string): { items: unknown[]; pointer: string } {
  const field = rawField(object, name, pointer);
  return field && Array.isArray(field.value)
    ? { items: field.value, pointer: field.pointer }
    : { items: [], pointer: field?.pointer ?? joinPointer(pointer, name) };
}
