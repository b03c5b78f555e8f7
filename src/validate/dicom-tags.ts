import { DICOM_TAG_KEY_PATTERN, REQUIRED_DICOM_TAGS, type RequiredDicomTag } from '../schema/dicom.js';
import { isPlainObject } from '../schema/dto.js';
import { joinPointer } from './pointer.js';
import type { FindingSink } from './sink.js';

/**
 * DICOM `tags` as pydicom `Dataset.to_json_dict()` writes them (DICOM JSON, PS3.18 F; rules in
 * ENCORD-FORMAT.md section 5). The schema checks the 22 keys are present and each top-level
 * element's outline (`vr` a string, `Value` an array, ...); this checks what it cannot: the VR
 * each tag must have, one value key at most, value entries of the VR's JSON type, and nested
 * sequence items, which the schema does not descend into.
 */

const BINARY_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'UN', 'US or SS or OW', 'US or OW', 'OB or OW']);
/** Integer VRs with their range; IS is a 32-bit decimal string in DICOM, a JSON number in pydicom's output. */
const INTEGER_RANGES: Record<string, [number, number]> = {
  IS: [-(2 ** 31), 2 ** 31 - 1],
  SL: [-(2 ** 31), 2 ** 31 - 1],
  SS: [-(2 ** 15), 2 ** 15 - 1],
  UL: [0, 2 ** 32 - 1],
  US: [0, 2 ** 16 - 1],
  'US or SS': [-(2 ** 15), 2 ** 16 - 1],
  SV: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  UV: [0, Number.MAX_SAFE_INTEGER],
};
const FLOAT_VRS = new Set(['DS', 'FD', 'FL']);
const STRING_VRS = new Set(['AE', 'AS', 'CS', 'DA', 'DT', 'LO', 'LT', 'SH', 'ST', 'TM', 'UC', 'UI', 'UR', 'UT']);
const VALUE_KEYS = ['Value', 'InlineBinary', 'BulkDataURI'] as const;
const ELEMENT_KEYS = new Set(['vr', ...VALUE_KEYS]);
const PN_COMPONENTS = new Set(['Alphabetic', 'Ideographic', 'Phonetic']);
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const AT_VALUE = /^[0-9A-F]{8}$/;
const DECIMAL_STRING = /^\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*$/;
const INTEGER_STRING = /^\s*[+-]?\d+\s*$/;

const REQUIRED = new Map(REQUIRED_DICOM_TAGS.map((tag) => [tag.tag, tag]));

function isKnownVr(vr: string): boolean {
  return BINARY_VRS.has(vr) || vr in INTEGER_RANGES || FLOAT_VRS.has(vr) || STRING_VRS.has(vr) || vr === 'SQ' || vr === 'PN' || vr === 'AT';
}

/** Checks `tags` of one DICOM file; a value that is not an object was reported by the schema. */
export function checkDicomTags(tags: unknown, pointer: string, sink: FindingSink): void {
  if (!isPlainObject(tags)) return;
  for (const [key, element] of Object.entries(tags)) {
    const at = joinPointer(pointer, key);
    const required = REQUIRED.get(key);
    if (required) {
      if (isPlainObject(element) && typeof element.vr === 'string') checkRequiredElement(required, element, at, sink);
    } else if (!DICOM_TAG_KEY_PATTERN.test(key)) {
      sink.error(at, 'dicom_invalid_tag_key', `"${key}" is not a DICOM tag key (8 uppercase hex digits)`);
    } else {
      sink.warning(at, 'dicom_unexpected_tag', `tag ${key} is not one of the 22 Encord requires; send only those`);
    }
  }
}

function checkRequiredElement(required: RequiredDicomTag, element: Record<string, unknown>, pointer: string, sink: FindingSink): void {
  if (element.vr !== required.vr) {
    sink.error(
      joinPointer(pointer, 'vr'),
      'dicom_vr_mismatch',
      `${required.keyword} (${required.tag}) has VR ${required.vr}, not ${String(element.vr)}`,
    );
    return;
  }
  checkElementValue(element, required.vr, pointer, sink);
  const values = element.Value;
  if (required.vr !== 'SQ' && Array.isArray(values) && values.length > 0) {
    const { min, max } = required.vm;
    if (values.length < min || values.length > max) {
      const expected = max === Infinity ? `at least ${min}` : min === max ? `${min}` : `${min}-${max}`;
      sink.warning(
        joinPointer(pointer, 'Value'),
        'dicom_vm_mismatch',
        `${required.keyword} (${required.tag}) takes ${expected} value(s), got ${values.length}`,
      );
    }
  }
}

/** An element inside a sequence item: the schema has not looked at it. */
function checkNestedElement(element: unknown, pointer: string, sink: FindingSink): void {
  if (!isPlainObject(element) || typeof element.vr !== 'string') {
    sink.error(pointer, 'dicom_invalid_element', 'a DICOM JSON element is an object with a string "vr"');
    return;
  }
  if (!isKnownVr(element.vr)) {
    sink.error(joinPointer(pointer, 'vr'), 'dicom_unknown_vr', `"${element.vr}" is not a DICOM VR`);
    return;
  }
  const outline: [string, string, (value: unknown) => boolean][] = [
    ['Value', 'an array', Array.isArray],
    ['InlineBinary', 'a string', (value) => typeof value === 'string'],
    ['BulkDataURI', 'a string', (value) => typeof value === 'string'],
  ];
  for (const [key, expected, test] of outline) {
    if (Object.hasOwn(element, key) && !test(element[key])) {
      sink.error(joinPointer(pointer, key), 'dicom_invalid_element', `${key} must be ${expected}`);
      return;
    }
  }
  checkElementValue(element, element.vr, pointer, sink);
}

function checkElementValue(element: Record<string, unknown>, vr: string, pointer: string, sink: FindingSink): void {
  for (const key of Object.keys(element)) {
    if (!ELEMENT_KEYS.has(key)) {
      sink.warning(joinPointer(pointer, key), 'dicom_unknown_element_key', `"${key}" is not part of a DICOM JSON element`);
    }
  }
  const given = VALUE_KEYS.filter((key) => Object.hasOwn(element, key));
  if (given.length > 1) {
    sink.error(pointer, 'dicom_multiple_values', `an element holds at most one of Value, InlineBinary, BulkDataURI; got ${given.join(', ')}`);
    return;
  }
  if (BINARY_VRS.has(vr)) {
    if (given[0] === 'Value') sink.error(joinPointer(pointer, 'Value'), 'dicom_invalid_value', `binary VR ${vr} takes InlineBinary or BulkDataURI, not Value`);
    if (typeof element.InlineBinary === 'string' && !BASE64.test(element.InlineBinary)) {
      sink.error(joinPointer(pointer, 'InlineBinary'), 'dicom_invalid_value', 'InlineBinary is not padded standard base64');
    }
    return;
  }
  if (given[0] === 'InlineBinary') {
    sink.error(joinPointer(pointer, 'InlineBinary'), 'dicom_invalid_value', `InlineBinary is only for binary VRs, not ${vr}`);
    return;
  }
  if (Array.isArray(element.Value)) checkValues(vr, element.Value, joinPointer(pointer, 'Value'), sink);
}

function checkValues(vr: string, values: unknown[], pointer: string, sink: FindingSink): void {
  if (vr === 'SQ') {
    values.forEach((item, index) => checkSequenceItem(item, joinPointer(pointer, index), sink));
    return;
  }
  if (values.length === 0) {
    sink.warning(pointer, 'dicom_empty_value', 'an empty element has no Value key (pydicom writes only {"vr": ...})');
    return;
  }
  values.forEach((value, index) => {
    if (value === null) return;
    const at = joinPointer(pointer, index);
    const verdict = judgeValue(vr, value);
    if (verdict === 'numeric-string') {
      sink.warning(at, 'dicom_numeric_string', `pydicom writes ${vr} values as JSON numbers, not strings`);
    } else if (verdict !== 'ok') {
      sink.error(at, 'dicom_invalid_value', `${vr} value ${JSON.stringify(value)}: ${verdict.problem}`);
    }
  });
}

/** Whether `value` is a JSON value of `vr`; a number written as a string is readable but not pydicom's form. */
function judgeValue(vr: string, value: unknown): 'ok' | 'numeric-string' | { problem: string } {
  const range = INTEGER_RANGES[vr];
  if (range) {
    // PS3.18 allows SV/UV as strings: 64-bit integers do not fit a JSON number.
    if (typeof value === 'string' && INTEGER_STRING.test(value)) return vr === 'SV' || vr === 'UV' ? 'ok' : 'numeric-string';
    if (typeof value !== 'number' || !Number.isInteger(value)) return { problem: 'expected an integer' };
    return value < range[0] || value > range[1] ? { problem: `out of range ${range[0]}..${range[1]}` } : 'ok';
  }
  if (FLOAT_VRS.has(vr)) {
    if (typeof value === 'string' && DECIMAL_STRING.test(value)) return 'numeric-string';
    return typeof value === 'number' && Number.isFinite(value) ? 'ok' : { problem: 'expected a number' };
  }
  const problem = vr === 'PN' ? personNameProblem(value) : vr === 'AT' ? attributeTagProblem(value) : stringProblem(value);
  return problem === undefined ? 'ok' : { problem };
}

function attributeTagProblem(value: unknown): string | undefined {
  return typeof value === 'string' && AT_VALUE.test(value) ? undefined : 'expected 8 uppercase hex digits';
}

function stringProblem(value: unknown): string | undefined {
  return typeof value === 'string' ? undefined : 'expected a string';
}

function personNameProblem(value: unknown): string | undefined {
  if (!isPlainObject(value)) return 'expected {"Alphabetic", "Ideographic"?, "Phonetic"?}';
  for (const [key, component] of Object.entries(value)) {
    if (!PN_COMPONENTS.has(key)) return `"${key}" is not a person name component`;
    if (typeof component !== 'string') return `${key} must be a string`;
  }
  return undefined;
}

function checkSequenceItem(item: unknown, pointer: string, sink: FindingSink): void {
  if (!isPlainObject(item)) {
    sink.error(pointer, 'dicom_invalid_value', 'a sequence item is an object of tag -> element');
    return;
  }
  for (const [key, element] of Object.entries(item)) {
    const at = joinPointer(pointer, key);
    if (!DICOM_TAG_KEY_PATTERN.test(key)) {
      sink.error(at, 'dicom_invalid_tag_key', `"${key}" is not a DICOM tag key (8 uppercase hex digits)`);
    }
    checkNestedElement(element, at, sink);
  }
}
