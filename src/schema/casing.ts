/**
 * Key spellings. The Encord SDK (pydantic, `alias_generator=snake_to_camel`,
 * `populate_by_name=True`) accepts every field under its snake_case name and its camelCase alias;
 * these helpers give the other spelling of a key so our schemas can do the same.
 */

/** `object_url` -> `objectUrl`, as encord/common/utils.py `snake_to_camel` does for our field names. */
export function snakeToCamel(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_match, next: string) => next.toUpperCase());
}

/** `objectUrl` -> `object_url`. */
export function camelToSnake(name: string): string {
  return name.replace(/[A-Z]/g, (upper) => `_${upper.toLowerCase()}`);
}

const spellings = new Map<string, string>();
/** Memo bound: field names are few, but documents may bring any number of unknown keys. */
const MAX_REMEMBERED_SPELLINGS = 4096;

/** The spelling of `name` in the other casing (itself when both agree, e.g. `fps`). */
export function otherSpelling(name: string): string {
  let other = spellings.get(name);
  if (other === undefined) {
    other = name.includes('_') ? snakeToCamel(name) : camelToSnake(name);
    if (spellings.size < MAX_REMEMBERED_SPELLINGS) spellings.set(name, other);
  }
  return other;
}
