/**
 * Element values in the DICOM JSON model exactly as pydicom 3 writes them: its value converters
 * (values.py: splitting, padding removal, charsets) followed by `DataElement.to_json_dict`
 * (`Value` lists, numbers for DS/IS and binary numbers, AT as hex, PN as groups, InlineBinary).
 * A value pydicom cannot convert or serialise throws ElementError.
 */
import { decodeBytes, decodeDefault, TEXT_VR_DELIMS, type DecodeNotes } from './charset.js';
import { ElementError } from './reader.js';
import { hex8 } from './vr-dictionary.js';

export interface JsonValue {
  Value?: unknown[];
  InlineBinary?: string;
}

/** VRs serialised as InlineBinary ('US or SS' is not: pydicom lists it as a number). */
const BINARY_VRS: ReadonlySet<string> = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'UN', 'US or SS or OW', 'US or OW', 'OB or OW']);

const NUMBER_FORMATS: Record<string, { size: number; read: (view: DataView, at: number, le: boolean) => number }> = {
  US: { size: 2, read: (v, at, le) => v.getUint16(at, le) },
  SS: { size: 2, read: (v, at, le) => v.getInt16(at, le) },
  UL: { size: 4, read: (v, at, le) => v.getUint32(at, le) },
  SL: { size: 4, read: (v, at, le) => v.getInt32(at, le) },
  UV: { size: 8, read: (v, at, le) => Number(v.getBigUint64(at, le)) },
  SV: { size: 8, read: (v, at, le) => Number(v.getBigInt64(at, le)) },
  FL: { size: 4, read: (v, at, le) => v.getFloat32(at, le) },
  FD: { size: 8, read: (v, at, le) => v.getFloat64(at, le) },
};

let knownVrs: ReadonlySet<string> | undefined;

/** VRs whose converter pydicom has (values.converters keys). */
export function isKnownVr(vr: string): boolean {
  knownVrs ??= new Set([...Object.keys(NUMBER_FORMATS), ...BINARY_VRS, 'US or SS', 'SQ', ...Object.keys(STRING_CONVERTERS)]);
  return knownVrs.has(vr);
}

// Python's str.isspace() for the code points a Latin-1 decode yields.
const PY_SPACE = '\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0';
const LEADING_SPACE = new RegExp(`^[${PY_SPACE}]+`);
const TRAILING_SPACE = new RegExp(`[${PY_SPACE}]+$`);
const pyStrip = (text: string): string => text.replace(LEADING_SPACE, '').replace(TRAILING_SPACE, '');
const TRAILING_SPACE_NUL = /[ \0]+$/;

const DIGITS = '\\d(?:_?\\d)*';
const PY_FLOAT = new RegExp(`^[+-]?(?:${DIGITS}(?:\\.(?:${DIGITS})?)?|\\.${DIGITS})(?:[eE][+-]?${DIGITS})?$`);
const PY_SPECIAL_FLOAT = /^[+-]?(?:inf|infinity|nan)$/i;
const PY_INT = new RegExp(`^[+-]?${DIGITS}$`);

/** Python's float(text). */
function pyFloat(text: string): number {
  const body = pyStrip(text);
  if (PY_FLOAT.test(body)) return Number(body.replace(/_/g, ''));
  if (PY_SPECIAL_FLOAT.test(body)) return /nan/i.test(body) ? NaN : body.startsWith('-') ? -Infinity : Infinity;
  throw new ElementError(`could not convert string to float: '${text}'`);
}

/** Python's int(text) for base 10. */
function pyInt(text: string): number | undefined {
  const body = pyStrip(text);
  return PY_INT.test(body) ? Number(body.replace(/_/g, '')) : undefined;
}

/** A JSON number pydicom would write: NaN and Infinity have no JSON form, so they are invalid. */
function finite(value: number, text: string): number {
  if (!Number.isFinite(value)) throw new ElementError(`'${text}' is not a finite number`);
  return value;
}

/** `multi_string`: trailing spaces and NULs dropped from the whole value, then split. */
function multiString(text: string): string[] {
  return text.replace(TRAILING_SPACE_NUL, '').split('\\');
}

/** A `str`-valued element: one empty string means no value (VM 0). */
function strings(values: string[]): JsonValue {
  return values.length === 1 && values[0] === '' ? {} : { Value: values };
}

/** DS: DSfloat per value; an empty value inside a list makes float('') fail in to_json_dict. */
function decimalStrings(bytes: Uint8Array): JsonValue {
  const items = multiString(pyStrip(decodeDefault(bytes)));
  if (items.length === 1 && pyStrip(items[0]!) === '') return {};
  return { Value: items.map((item) => finite(pyFloat(item), item)) };
}

/** IS: int(), else int(float()) truncating (pydicom's ISfloat); then int() in to_json_dict. */
function integerStrings(bytes: Uint8Array): JsonValue {
  const items = multiString(decodeDefault(bytes));
  if (items.length === 1 && pyStrip(items[0]!) === '') return {};
  return {
    Value: items.map((item) => {
      if (pyStrip(item) === '') throw new ElementError("invalid literal for int() with base 10: ''");
      return pyInt(item) ?? Math.trunc(finite(pyFloat(item), item));
    }),
  };
}

export interface DecodeContext {
  littleEndian: boolean;
  /** Python codec names for the text VRs (SH, LO, UC, ST, LT, UT, PN). */
  encodings: string[];
  notes: DecodeNotes;
}

type Converter = (bytes: Uint8Array, context: DecodeContext) => JsonValue;

const text = (bytes: Uint8Array, context: DecodeContext): string => decodeBytes(bytes, context.encodings, TEXT_VR_DELIMS, context.notes);
const dropPadding = (value: string): string => value.replace(TRAILING_SPACE_NUL, '');

const latin1Strings: Converter = (bytes) => strings(multiString(decodeDefault(bytes)));
const textStrings: Converter = (bytes, context) => strings(text(bytes, context).split('\\').map(dropPadding));
const singleText: Converter = (bytes, context) => strings([dropPadding(text(bytes, context))]);

const STRING_CONVERTERS: Record<string, Converter> = {
  AE: (bytes) => strings(decodeDefault(bytes).split('\\').map(pyStrip)),
  AS: latin1Strings,
  CS: latin1Strings,
  DA: latin1Strings,
  DT: latin1Strings,
  TM: latin1Strings,
  UI: (bytes) => strings(multiString(decodeDefault(bytes)).map(pyStrip)),
  UR: (bytes) => strings([decodeDefault(bytes).replace(TRAILING_SPACE, '')]),
  DS: decimalStrings,
  IS: integerStrings,
  SH: textStrings,
  LO: textStrings,
  UC: textStrings,
  ST: singleText,
  LT: singleText,
  UT: singleText,
  PN: personNames,
  AT: attributeTags,
};

/** PN: groups split on '=', trailing empty groups dropped; a name with no group has no value. */
function personNames(bytes: Uint8Array, context: DecodeContext): JsonValue {
  let end = bytes.length;
  while (end > 0 && (bytes[end - 1] === 0 || bytes[end - 1] === 0x20)) end--;
  const names = text(bytes.subarray(0, end), context).split('\\').map((name) => {
    const groups = name.split('=');
    while (groups.length > 0 && groups[groups.length - 1] === '') groups.pop();
    return groups;
  });
  if (names.length === 1 && names[0]!.length === 0) return {};
  return {
    Value: names.map((groups) => {
      if (groups.length === 0) throw new ElementError('a person name without any component group');
      const name: Record<string, string> = { Alphabetic: groups[0]! };
      if (groups.length > 1) name.Ideographic = groups[1]!;
      if (groups.length > 2) name.Phonetic = groups[2]!;
      return name;
    }),
  };
}

/**
 * AT: (group, element) pairs as 8 uppercase hex digits; a partial last pair is dropped. A value
 * of 5-7 bytes is a one-item list where to_json_dict expects a tag, and fails.
 */
function attributeTags(bytes: Uint8Array, context: DecodeContext): JsonValue {
  if (bytes.length > 4 && bytes.length < 8) throw new ElementError(`${bytes.length} bytes is not a whole number of AT values`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const values: string[] = [];
  for (let at = 0; at + 4 <= bytes.length; at += 4) {
    const group = view.getUint16(at, context.littleEndian);
    const element = view.getUint16(at + 2, context.littleEndian);
    values.push(hex8(((group << 16) | element) >>> 0));
  }
  return values.length === 0 ? {} : { Value: values };
}

function numbers(vr: string, bytes: Uint8Array, littleEndian: boolean): JsonValue {
  const format = NUMBER_FORMATS[vr]!;
  if (bytes.length % format.size !== 0) {
    throw new ElementError(`${bytes.length} bytes is not a whole number of ${vr} values`);
  }
  if (bytes.length === 0) return {};
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const values: number[] = [];
  for (let at = 0; at < bytes.length; at += format.size) values.push(finite(format.read(view, at, littleEndian), vr));
  return { Value: values };
}

/**
 * The JSON value of an element with a resolved VR whose declared length is not 0. SQ values
 * are not handled here (see json.ts).
 */
export function decodeValue(vr: string, bytes: Uint8Array, context: DecodeContext): JsonValue {
  if (BINARY_VRS.has(vr)) {
    return bytes.length === 0 ? {} : { InlineBinary: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64') };
  }
  if (vr in NUMBER_FORMATS) return numbers(vr, bytes, context.littleEndian);
  if (vr === 'US or SS') return uncorrectedUsOrSs(bytes);
  const converter = STRING_CONVERTERS[vr];
  if (!converter) throw new ElementError(`Unknown Value Representation '${vr}'`);
  return converter(bytes, context);
}

/** A 'US or SS' element pydicom could not resolve keeps its bytes, and to_json_dict calls int(bytes). */
function uncorrectedUsOrSs(bytes: Uint8Array): JsonValue {
  if (bytes.length === 0) return {};
  const ascii = decodeDefault(bytes);
  const value = /^[\t\n\v\f\r ]*[+-]?\d(?:_?\d)*[\t\n\v\f\r ]*$/.test(ascii) ? Number(ascii.trim().replace(/_/g, '')) : undefined;
  if (value === undefined) throw new ElementError('an unresolved US or SS value is not a number');
  return { Value: [value] };
}
