/**
 * Text decoding as pydicom's charset.py does it: (0008,0005) Specific Character Set terms are
 * mapped to Python codec names (`convert_encodings`), and values are decoded fragment by
 * fragment at ISO 2022 escape sequences (`decode_bytes`). A fragment that does not decode is
 * decoded again with the first encoding and replacement characters, as pydicom does.
 */

/** pydicom's `default_encoding` ('iso8859', i.e. Latin-1): used for every non-text VR too. */
export const DEFAULT_ENCODING = 'iso8859';

const PYTHON_ENCODING: Record<string, string> = {
  '': DEFAULT_ENCODING,
  'ISO_IR 6': DEFAULT_ENCODING,
  'ISO_IR 13': 'shift_jis',
  'ISO_IR 100': 'latin_1',
  'ISO_IR 101': 'iso8859_2',
  'ISO_IR 109': 'iso8859_3',
  'ISO_IR 110': 'iso8859_4',
  'ISO_IR 126': 'iso_ir_126',
  'ISO_IR 127': 'iso_ir_127',
  'ISO_IR 138': 'iso_ir_138',
  'ISO_IR 144': 'iso_ir_144',
  'ISO_IR 148': 'iso_ir_148',
  'ISO_IR 166': 'iso_ir_166',
  'ISO 2022 IR 6': DEFAULT_ENCODING,
  'ISO 2022 IR 13': 'shift_jis',
  'ISO 2022 IR 87': 'iso2022_jp',
  'ISO 2022 IR 100': 'latin_1',
  'ISO 2022 IR 101': 'iso8859_2',
  'ISO 2022 IR 109': 'iso8859_3',
  'ISO 2022 IR 110': 'iso8859_4',
  'ISO 2022 IR 126': 'iso_ir_126',
  'ISO 2022 IR 127': 'iso_ir_127',
  'ISO 2022 IR 138': 'iso_ir_138',
  'ISO 2022 IR 144': 'iso_ir_144',
  'ISO 2022 IR 148': 'iso_ir_148',
  'ISO 2022 IR 149': 'euc_kr',
  'ISO 2022 IR 159': 'iso2022_jp_2',
  'ISO 2022 IR 166': 'iso_ir_166',
  'ISO 2022 IR 58': 'iso_ir_58',
  'ISO_IR 192': 'UTF8',
  GB18030: 'GB18030',
  'ISO 2022 GBK': 'GBK',
  'ISO 2022 58': 'GB2312',
  GBK: 'GBK',
};

/** Terms that allow no code extensions (PS3.3 C.12-5). */
const STAND_ALONE = new Set(['ISO_IR 192', 'GBK', 'GB18030']);

const ESC = 0x1b;
const CODES_TO_ENCODINGS: Record<string, string> = {
  '\x1b(B': DEFAULT_ENCODING,
  '\x1b-A': 'latin_1',
  '\x1b)I': 'shift_jis',
  '\x1b(J': 'shift_jis',
  '\x1b$B': 'iso2022_jp',
  '\x1b-B': 'iso8859_2',
  '\x1b-C': 'iso8859_3',
  '\x1b-D': 'iso8859_4',
  '\x1b-F': 'iso_ir_126',
  '\x1b-G': 'iso_ir_127',
  '\x1b-H': 'iso_ir_138',
  '\x1b-L': 'iso_ir_144',
  '\x1b-M': 'iso_ir_148',
  '\x1b-T': 'iso_ir_166',
  '\x1b$)C': 'euc_kr',
  '\x1b$(D': 'iso2022_jp_2',
  '\x1b$)A': 'iso_ir_58',
};

/** Encodings whose Python codec consumes the escape sequence itself. */
const HANDLED_ENCODINGS = new Set(['iso2022_jp', 'iso2022_jp_2', 'iso_ir_58']);

/** Delimiters that reset a single-byte code extension (`TEXT_VR_DELIMS`). */
export const TEXT_VR_DELIMS: ReadonlySet<number> = new Set([0x0d, 0x0a, 0x09, 0x0c]);

export interface DecodeNotes {
  /** Set when a value needed replacement characters or an unknown charset was replaced. */
  lossy?: boolean;
}

/**
 * pydicom's `convert_encodings`: Specific Character Set values (as split from the CS value) to
 * Python codec names, with its spelling fixes, stand-alone rules and Latin-1 fallback.
 */
export function convertEncodings(terms: readonly string[], notes: DecodeNotes = {}): string[] {
  const values = terms.length === 0 ? [''] : [...terms];
  if (values.length > 1 && !values[0]) values[0] = 'ISO_IR 6';
  const encodings = values.map((term) => PYTHON_ENCODING[term] ?? correctedEncoding(term, notes));
  if (values.length === 1) return encodings;
  if (STAND_ALONE.has(values[0]!)) return encodings.slice(0, 1);
  return encodings.filter((_, i) => i === 0 || !STAND_ALONE.has(values[i]!));
}

function correctedEncoding(term: string, notes: DecodeNotes): string {
  let patched: string | undefined;
  if (/^ISO[^_]IR/.test(term)) patched = `ISO_IR${term.slice(6)}`;
  else if (/^(?=ISO.2022.IR.)(?!ISO 2022 IR )/.test(term)) patched = `ISO 2022 IR ${term.slice(12)}`;
  if (patched !== undefined) {
    const encoding = PYTHON_ENCODING[patched];
    if (encoding === undefined) notes.lossy = true;
    return encoding ?? DEFAULT_ENCODING;
  }
  // pydicom then accepts any Python codec name as it is; codecs.lookup() rejects a NUL.
  if (term.includes('\0')) throw new Error(`Specific Character Set term ${JSON.stringify(term)} has a NUL`);
  if (codecFor(term)) return term;
  notes.lossy = true;
  return DEFAULT_ENCODING;
}

/** A Python codec: `decode()` strict (throws DecodeError) and with errors='replace'. */
interface Codec {
  strict(bytes: Uint8Array): string;
  replace(bytes: Uint8Array): string;
}

class DecodeError extends Error {}

function textDecoderCodec(label: string): Codec {
  const fatal = new TextDecoder(label, { fatal: true, ignoreBOM: true });
  const lenient = new TextDecoder(label, { ignoreBOM: true });
  return {
    strict(bytes) {
      try {
        return fatal.decode(bytes);
      } catch {
        throw new DecodeError(label);
      }
    },
    replace: (bytes) => lenient.decode(bytes),
  };
}

/** A single-byte code page: 256 code points, -1 where Python's codec has no character. */
function tableCodec(table: Int32Array): Codec {
  const decode = (bytes: Uint8Array, replace: boolean): string => {
    let text = '';
    for (const byte of bytes) {
      const code = table[byte]!;
      if (code >= 0) text += String.fromCharCode(code);
      else if (replace) text += '\ufffd';
      else throw new DecodeError('undefined byte');
    }
    return text;
  };
  return { strict: (bytes) => decode(bytes, false), replace: (bytes) => decode(bytes, true) };
}

function latin1Table(overrides: Record<number, number> = {}, undefinedBytes: number[] = []): Int32Array {
  const table = Int32Array.from({ length: 256 }, (_, i) => overrides[i] ?? i);
  for (const byte of undefinedBytes) table[byte] = -1;
  return table;
}

/** Python's iso8859_9 (Latin-5): Latin-1 with six Turkish letters. */
const LATIN5 = latin1Table({ 0xd0: 0x11e, 0xdd: 0x130, 0xde: 0x15e, 0xf0: 0x11f, 0xfd: 0x131, 0xfe: 0x15f });

/** Python's tis_620: Thai at A1-DA and DF-FB, C1 controls kept, A0/DB-DE/FC-FF undefined. */
const TIS620 = (() => {
  const table = latin1Table({}, [0xa0, 0xdb, 0xdc, 0xdd, 0xde, 0xfc, 0xfd, 0xfe, 0xff]);
  for (let byte = 0xa1; byte <= 0xda; byte++) table[byte] = 0x0e01 + byte - 0xa1;
  for (let byte = 0xdf; byte <= 0xfb; byte++) table[byte] = 0x0e3f + byte - 0xdf;
  return table;
})();

/** Windows-1252's 0x80-0x9F (Node 20 decodes this code page as Latin-1); 0 = unassigned. */
const WINDOWS_1252_HIGH = [
  0x20ac, 0, 0x201a, 0x192, 0x201e, 0x2026, 0x2020, 0x2021, 0x2c6, 0x2030, 0x160, 0x2039, 0x152, 0, 0x17d, 0,
  0, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014, 0x2dc, 0x2122, 0x161, 0x203a, 0x153, 0, 0x17e, 0x178,
];

/** A Windows code page as Python has it: the bytes it leaves unassigned (WHATWG: C1 controls) fail. */
function windowsTable(label: string): Int32Array {
  if (label === 'windows-1252') return latin1Table(Object.fromEntries(WINDOWS_1252_HIGH.map((code, i) => [0x80 + i, code || -1])));
  const decoder = new TextDecoder(label);
  return Int32Array.from({ length: 256 }, (_, byte) => {
    const code = decoder.decode(Uint8Array.of(byte)).charCodeAt(0);
    return byte >= 0x80 && code >= 0x80 && code <= 0x9f ? -1 : code;
  });
}

const ASCII = latin1Table({}, Array.from({ length: 128 }, (_, i) => 128 + i));

const latin1Decode = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
const LATIN1: Codec = { strict: latin1Decode, replace: latin1Decode };

/**
 * JIS X 0208 and 0212 as Python's tables have them, looked up through the EUC-JP decoder: rows
 * Python lacks (NEC row 13, IBM extensions) are refused, and six characters map differently.
 */
const eucJp = textDecoderCodec('euc-jp');
const JIS_X_0208_PYTHON: Record<number, string> = {
  0x2141: '\u301c', 0x2142: '\u2016', 0x215d: '\u2212', 0x2171: '\u00a2', 0x2172: '\u00a3', 0x224c: '\u00ac',
};

function jisCharacter(row: number, cell: number, supplementary: boolean): string | undefined {
  const code = (row << 8) | cell;
  if (supplementary ? row === 0x73 : row === 0x2d || row >= 0x75) return undefined;
  if (!supplementary && JIS_X_0208_PYTHON[code]) return JIS_X_0208_PYTHON[code];
  if (supplementary && code === 0x2237) return '~';
  const euc = supplementary ? [0x8f, row | 0x80, cell | 0x80] : [row | 0x80, cell | 0x80];
  try {
    const char = eucJp.strict(Uint8Array.from(euc));
    return isPrivateUse(char) ? undefined : char;
  } catch {
    return undefined;
  }
}

const isPrivateUse = (text: string): boolean => /[\ue000-\uf8ff]/.test(text);

/** A decode loop in CPython's multibyte-codec style: a bad unit is one U+FFFD, then the next byte. */
type UnitDecoder = (bytes: Uint8Array, at: number) => { length: number; char?: string } | 'incomplete';

function multibyteCodec(name: string, unitAt: UnitDecoder): Codec {
  const decode = (bytes: Uint8Array, replace: boolean): string => {
    let text = '';
    let at = 0;
    while (at < bytes.length) {
      const unit = unitAt(bytes, at);
      if (unit !== 'incomplete' && unit.char !== undefined) {
        text += unit.char;
        at += unit.length;
        continue;
      }
      if (!replace) throw new DecodeError(name);
      text += '\ufffd';
      at = unit === 'incomplete' ? bytes.length : at + 1;
    }
    return text;
  };
  return { strict: (bytes) => decode(bytes, false), replace: (bytes) => decode(bytes, true) };
}

/** JIS X 0208 / 0212 in ISO 2022 form, as CPython's iso2022_jp(_2) codecs decode it. */
function iso2022JapaneseCodec(allow0212: boolean): Codec {
  let mode: 'ascii' | 'roman' | 'x0208' | 'x0212' = 'ascii';
  const codec = multibyteCodec('iso2022_jp', (bytes, at) => {
    const byte = bytes[at]!;
    if (byte === ESC) {
      const designation = String.fromCharCode(...bytes.subarray(at, at + 4));
      const modes: Array<[string, typeof mode]> = [['\x1b(B', 'ascii'], ['\x1b(J', 'roman'], ['\x1b$B', 'x0208'], ['\x1b$@', 'x0208']];
      if (allow0212) modes.push(['\x1b$(D', 'x0212']);
      const found = modes.find(([escape]) => designation.startsWith(escape));
      if (!found) return { length: 1 };
      mode = found[1];
      return { length: found[0].length, char: '' };
    }
    if (byte >= 0x80) return { length: 1 };
    if (mode === 'ascii' || byte < 0x20) return { length: 1, char: String.fromCharCode(byte) };
    if (mode === 'roman') return { length: 1, char: byte === 0x5c ? '\u00a5' : byte === 0x7e ? '\u203e' : String.fromCharCode(byte) };
    const cell = bytes[at + 1];
    if (cell === undefined) return 'incomplete';
    if (byte < 0x21 || byte > 0x7e || cell < 0x21 || cell > 0x7e) return { length: 1 };
    return { length: 2, char: jisCharacter(byte, cell, mode === 'x0212') };
  });
  const reset = <T>(run: () => T): T => {
    mode = 'ascii';
    return run();
  };
  return { strict: (bytes) => reset(() => codec.strict(bytes)), replace: (bytes) => reset(() => codec.replace(bytes)) };
}

const between = (byte: number | undefined, low: number, high: number): boolean => byte !== undefined && byte >= low && byte <= high;

/** CPython's shift_jis: ASCII, JIS X 0201 katakana and JIS X 0208 (leads 81-9F, E0-EA) only. */
const SHIFT_JIS = multibyteCodec('shift_jis', (bytes, at) => {
  const lead = bytes[at]!;
  if (lead < 0x80) return { length: 1, char: String.fromCharCode(lead) };
  if (between(lead, 0xa1, 0xdf)) return { length: 1, char: String.fromCharCode(0xff61 + lead - 0xa1) };
  if (!(between(lead, 0x81, 0x9f) || between(lead, 0xe0, 0xea))) return { length: 1 };
  const trail = bytes[at + 1];
  if (trail === undefined) return 'incomplete';
  if (!(between(trail, 0x40, 0x7e) || between(trail, 0x80, 0xfc))) return { length: 1 };
  const row = 2 * (lead < 0xe0 ? lead - 0x81 : lead - 0xc1) + (trail < 0x9f ? 0 : 1) + 0x21;
  const cell = (trail < 0x9f ? trail - (trail < 0x80 ? 0x40 : 0x41) : trail - 0x9f) + 0x21;
  return { length: 2, char: jisCharacter(row, cell, false) };
});

/**
 * CPython's Korean and Chinese codecs, checked against the WHATWG decoders (Windows supersets):
 * units outside the Python codec's ranges or mapping to private use are refused, and the few
 * code points Python maps differently are mapped as Python does.
 */
interface DoubleByteRules {
  label: string;
  valid(lead: number, trail: number): boolean;
  allowPrivateUse: boolean;
  python: Record<string, string>;
  /** GB18030's four-byte units. */
  fourByte?: boolean;
}

const GB2312_MISSING = new Set(
  'a2a1 a2a2 a2a3 a2a4 a2a5 a2a6 a2a7 a2a8 a2a9 a2aa a6e0 a6e1 a6e2 a6e3 a6e4 a6e5 a6e6 a6e7 a6e8 a6e9 a6ea a6eb a6ee a6ef a6f0 a6f1 a6f2 a6f4 a6f5 a8bb a8bd a8be a8c0'.split(' '),
);
const gbkTrail = (b: number): boolean => between(b, 0x40, 0x7e) || between(b, 0x80, 0xfe);
const hex2 = (lead: number, trail: number): string => ((lead << 8) | trail).toString(16);

const DOUBLE_BYTE_RULES: Record<string, DoubleByteRules> = {
  euc_kr: {
    label: 'euc-kr',
    valid: (lead, trail) => between(lead, 0xa1, 0xfe) && between(trail, 0xa1, 0xfe) && !(lead === 0xa4 && trail === 0xd4),
    allowPrivateUse: false,
    python: { a2e6: '\u20ac', a2e7: '\u00ae' },
  },
  gb2312: {
    label: 'gbk',
    valid: (lead, trail) => between(lead, 0xa1, 0xf7) && between(trail, 0xa1, 0xfe) && !GB2312_MISSING.has(hex2(lead, trail)),
    allowPrivateUse: false,
    python: { a1a4: '\u30fb', a1aa: '\u2015' },
  },
  gbk: { label: 'gbk', valid: (lead, trail) => between(lead, 0x81, 0xfe) && gbkTrail(trail), allowPrivateUse: false, python: {} },
  gb18030: {
    label: 'gb18030',
    valid: (lead, trail) => between(lead, 0x81, 0xfe) && gbkTrail(trail),
    allowPrivateUse: true,
    fourByte: true,
    python: {
      a3a0: '\ue5e5', a6d9: '\ue78d', a6da: '\ue78e', a6db: '\ue78f', a6dc: '\ue790', a6dd: '\ue791', a6de: '\ue792',
      a6df: '\ue793', a6ec: '\ue794', a6ed: '\ue795', a6f3: '\ue796', a8bc: '\ue7c7', fe59: '\ue81e', fe61: '\ue826',
      fe66: '\ue82b', fe67: '\ue82c', fe6d: '\ue832', fe7e: '\ue843', fe90: '\ue854', fea0: '\ue864',
    },
  },
};

function doubleByteCodec(rules: DoubleByteRules): Codec {
  const whatwg = textDecoderCodec(rules.label);
  const lookup = (unit: Uint8Array): string | undefined => {
    try {
      const char = whatwg.strict(unit);
      return !rules.allowPrivateUse && isPrivateUse(char) ? undefined : char;
    } catch {
      return undefined;
    }
  };
  return multibyteCodec(rules.label, (bytes, at) => {
    const lead = bytes[at]!;
    if (lead < 0x80) return { length: 1, char: String.fromCharCode(lead) };
    const trail = bytes[at + 1];
    if (trail === undefined) return 'incomplete';
    if (rules.fourByte && between(trail, 0x30, 0x39)) {
      if (at + 4 > bytes.length) return 'incomplete';
      const unit = bytes.subarray(at, at + 4);
      const ok = between(lead, 0x81, 0xfe) && between(unit[2], 0x81, 0xfe) && between(unit[3], 0x30, 0x39);
      return { length: 4, char: ok ? lookup(unit) : undefined };
    }
    if (!rules.valid(lead, trail)) return { length: 1 };
    return { length: 2, char: rules.python[hex2(lead, trail)] ?? lookup(bytes.subarray(at, at + 2)) };
  });
}

/** WHATWG labels for the other Python codecs pydicom maps DICOM terms to (and common aliases). */
const DECODER_LABELS: Record<string, string> = {
  utf8: 'utf-8', utf_8: 'utf-8', u8: 'utf-8', utf: 'utf-8', cp65001: 'utf-8',
  iso8859_2: 'iso-8859-2', iso8859_3: 'iso-8859-3', iso8859_4: 'iso-8859-4', iso8859_5: 'iso-8859-5',
  iso8859_6: 'iso-8859-6', iso8859_7: 'iso-8859-7', iso8859_8: 'iso-8859-8', iso_ir_126: 'iso-8859-7',
  iso_ir_127: 'iso-8859-6', iso_ir_138: 'iso-8859-8', iso_ir_144: 'iso-8859-5',
};

/** Python codec names (and aliases) of the Korean and Chinese codecs above. */
const DOUBLE_BYTE_NAMES: Record<string, string> = {
  euc_kr: 'euc_kr', euckr: 'euc_kr', iso_ir_58: 'gb2312', gb2312: 'gb2312', gbk: 'gbk', cp936: 'gbk', gb18030: 'gb18030',
};

function makeCodec(name: string): Codec | null {
  const key = name.toLowerCase().replace(/[^a-z0-9.]+/g, '_');
  if (['iso8859', 'latin_1', 'latin1', 'l1', 'iso8859_1', 'iso_8859_1', '8859', 'cp819', 'iso_ir_100'].includes(key)) return LATIN1;
  if (['ascii', 'us_ascii', '646', 'iso_ir_6', 'iso646_us'].includes(key)) return tableCodec(ASCII);
  if (['iso_ir_148', 'iso8859_9', 'iso_8859_9', 'latin5', 'l5'].includes(key)) return tableCodec(LATIN5);
  if (['iso_ir_166', 'tis_620', 'tis620'].includes(key)) return tableCodec(TIS620);
  if (key === 'iso2022_jp') return iso2022JapaneseCodec(false);
  if (key === 'iso2022_jp_2') return iso2022JapaneseCodec(true);
  if (['shift_jis', 'sjis', 's_jis'].includes(key)) return SHIFT_JIS;
  const windows = /^(?:cp|windows_)(125[0-8])$/.exec(key);
  if (windows) return tableCodec(windowsTable(`windows-${windows[1]}`));
  const doubleByte = DOUBLE_BYTE_NAMES[key];
  if (doubleByte) return doubleByteCodec(DOUBLE_BYTE_RULES[doubleByte]!);
  const label = DECODER_LABELS[key];
  return label ? textDecoderCodec(label) : null;
}

const codecCache = new Map<string, Codec | null>();

function codecFor(name: string): Codec | null {
  if (!codecCache.has(name)) codecCache.set(name, makeCodec(name));
  return codecCache.get(name)!;
}

/** `bytes.decode(encoding)`; an unknown codec decodes as Latin-1, as pydicom falls back. */
function strictDecode(bytes: Uint8Array, encoding: string): string {
  return (codecFor(encoding) ?? LATIN1).strict(bytes);
}

/** `bytes.decode(encoding)`, retried with errors='replace' when it fails. */
function replacingDecode(bytes: Uint8Array, encoding: string, notes: DecodeNotes): string {
  const codec = codecFor(encoding);
  if (!codec) notes.lossy = true;
  try {
    return (codec ?? LATIN1).strict(bytes);
  } catch (error) {
    if (!(error instanceof DecodeError)) throw error;
    notes.lossy = true;
    return (codec ?? LATIN1).replace(bytes);
  }
}

/** pydicom's `decode_bytes`. */
export function decodeBytes(value: Uint8Array, encodings: readonly string[], delimiters: ReadonlySet<number>, notes: DecodeNotes = {}): string {
  const first = encodings[0] ?? DEFAULT_ENCODING;
  if (!value.includes(ESC)) return decodeFragment(value, first, notes);
  let text = '';
  let start = 0;
  for (let i = 1; i <= value.length; i++) {
    if (i === value.length || value[i] === ESC) {
      const fragment = value.subarray(start, i);
      text += fragment[0] === ESC ? decodeEscapedFragment(fragment, encodings, delimiters, notes) : decodeFragment(fragment, first, notes);
      start = i;
    }
  }
  return text;
}

function decodeFragment(fragment: Uint8Array, encoding: string, notes: DecodeNotes): string {
  return replacingDecode(fragment, encoding, notes);
}

function decodeEscapedFragment(fragment: Uint8Array, encodings: readonly string[], delimiters: ReadonlySet<number>, notes: DecodeNotes): string {
  const first = encodings[0] ?? DEFAULT_ENCODING;
  const prefix = String.fromCharCode(...fragment.subarray(0, 4));
  const length = prefix.startsWith('\x1b$(') || prefix.startsWith('\x1b$)') ? 4 : 3;
  const encoding = CODES_TO_ENCODINGS[prefix.slice(0, length)];
  if (encoding === undefined || !(encodings.includes(encoding) || encoding === DEFAULT_ENCODING)) {
    notes.lossy = true;
    return replacingDecode(fragment, first, notes);
  }
  try {
    if (HANDLED_ENCODINGS.has(encoding)) return strictDecode(fragment, encoding);
    const body = fragment.subarray(length);
    const delimiter = body.findIndex((byte) => delimiters.has(byte));
    if (delimiter < 0) return strictDecode(body, encoding);
    return strictDecode(body.subarray(0, delimiter), encoding) + strictDecode(body.subarray(delimiter), first);
  } catch (error) {
    if (!(error instanceof DecodeError)) throw error;
    notes.lossy = true;
    return replacingDecode(fragment, first, notes);
  }
}

/** `bytes.decode('iso8859')`: what pydicom uses for every VR without a customizable charset. */
export function decodeDefault(bytes: Uint8Array): string {
  return latin1Decode(bytes);
}
