import type { z } from 'zod';
import { camelToSnake, otherSpelling } from '../schema/casing.js';
import { REQUIRED_DICOM_TAGS } from '../schema/dicom.js';
import { isPlainObject } from '../schema/dto.js';
import { joinPointer } from './pointer.js';
import type { FindingSink } from './sink.js';

/**
 * Turns zod issues into findings. Codes are stable and derived from where the issue is:
 * `missing_field`; `invalid_<field>` for a wrong type or value of a field, named in snake_case
 * (`invalid_file_size`, `invalid_fps`, `invalid_mime_type`, `invalid_client_metadata`, every URL
 * field `invalid_url`); `dicom_missing_tag` / `dicom_invalid_element` inside DICOM tags; a
 * custom issue carries its own code in `params.code`.
 * Zod paths use canonical names; pointers use the spelling the document used.
 */

const DICOM_KEYWORDS = new Map(REQUIRED_DICOM_TAGS.map((tag) => [tag.tag, tag.keyword]));

interface Located {
  pointer: string;
  /** Whether the value at the path exists in the document. */
  present: boolean;
}

function locate(document: unknown, path: readonly PropertyKey[], base: string): Located {
  let node = document;
  let pointer = base;
  let present = true;
  for (const segment of path) {
    const token = String(segment);
    if (isPlainObject(node) && !Object.hasOwn(node, token) && Object.hasOwn(node, otherSpelling(token))) {
      const key = otherSpelling(token);
      pointer = joinPointer(pointer, key);
      node = node[key];
      continue;
    }
    pointer = joinPointer(pointer, token);
    if ((isPlainObject(node) || Array.isArray(node)) && Object.hasOwn(node, token)) {
      node = (node as Record<string, unknown>)[token];
    } else {
      present = false;
      node = undefined;
    }
  }
  return { pointer, present };
}

function fieldCodeName(field: string): string {
  const name = camelToSnake(field).replace(/^_|_\d+$/g, '');
  return name === 'object_url' || name === 'url' ? 'url' : name;
}

function describe(issue: z.core.$ZodIssue, path: readonly PropertyKey[], located: Located): { code: string; message: string } {
  const custom = issue.code === 'custom' ? (issue.params as { code?: unknown } | undefined)?.code : undefined;
  if (typeof custom === 'string') return { code: custom, message: issue.message };
  const last = path.at(-1);
  const tagsAt = path.lastIndexOf('tags');
  if (tagsAt >= 0 && tagsAt < path.length - 1) {
    const tag = String(path[tagsAt + 1]);
    if (!located.present && tagsAt === path.length - 2) {
      const keyword = DICOM_KEYWORDS.get(tag);
      return {
        code: 'dicom_missing_tag',
        message: `required DICOM tag ${tag}${keyword ? ` (${keyword})` : ''} is missing; give null when the file lacks it`,
      };
    }
    return { code: 'dicom_invalid_element', message: `DICOM tag ${tag}: ${issue.message}` };
  }
  if (!located.present && last !== undefined) {
    return { code: 'missing_field', message: `required field "${String(last)}" is missing` };
  }
  const field = [...path].reverse().find((segment) => typeof segment === 'string');
  if (field === undefined) return { code: issue.code === 'invalid_type' ? 'invalid_type' : 'invalid_value', message: issue.message };
  return { code: `invalid_${fieldCodeName(field)}`, message: `${field}: ${issue.message}` };
}

/**
 * Adds one error finding per zod issue of `document`, found at `base`; `basePath` is its
 * canonical path in the whole document (an item parsed alone), which names the codes.
 */
export function reportIssues(
  issues: readonly z.core.$ZodIssue[],
  document: unknown,
  base: string,
  sink: FindingSink,
  basePath: readonly PropertyKey[] = [],
): void {
  for (const issue of issues) {
    const located = locate(document, issue.path, base);
    const { code, message } = describe(issue, [...basePath, ...issue.path], located);
    sink.error(located.pointer, code, message);
  }
}
