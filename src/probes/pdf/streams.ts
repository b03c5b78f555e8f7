import { constants, inflateRawSync, inflateSync } from 'node:zlib';
import { PdfDict, PdfDoubt, PdfName, type PdfValue } from './syntax.js';

type Filter = (data: Uint8Array, params: PdfDict | undefined) => Uint8Array;

/** The standard filters poppler and qpdf both decode (image-only filters never hold structure). */
const FILTERS: Record<string, Filter> = {
  FlateDecode: (data, params) => unpredict(inflate(data), params),
  LZWDecode: (data, params) => unpredict(lzw(data, intParam(params, 'EarlyChange', 1)), params),
  ASCIIHexDecode: asciiHex,
  ASCII85Decode: ascii85,
  RunLengthDecode: runLength,
};
const ABBREVIATIONS: Record<string, string> = { Fl: 'FlateDecode', LZW: 'LZWDecode', AHx: 'ASCIIHexDecode', A85: 'ASCII85Decode', RL: 'RunLengthDecode' };

/**
 * Decodes cross-reference and object stream data through its /Filter chain. Any other filter
 * (Brotli, Crypt, image codecs) is doubt: poppler and qpdf cannot read it either, so guessing
 * is never right.
 */
export function decodeStream(dict: PdfDict, raw: Uint8Array): Uint8Array {
  const filters = asList(dict.get('Filter'));
  const params = asList(dict.get('DecodeParms') ?? dict.get('DP'));
  let data = raw;
  filters.forEach((filter, i) => {
    if (!(filter instanceof PdfName)) throw new PdfDoubt('stream filter is not a name');
    const decode = FILTERS[ABBREVIATIONS[filter.name] ?? filter.name];
    if (!decode) throw new PdfDoubt(`unsupported stream filter /${filter.name}`);
    const param = params[i];
    data = decode(data, param instanceof PdfDict ? param : undefined);
  });
  return data;
}

function asList(value: PdfValue | undefined): PdfValue[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : [value];
}

/**
 * zlib data as poppler and pdf.js inflate it: a bad Adler-32 checksum is ignored, and a stream
 * cut short yields what it holds (callers check that it holds all they need).
 */
function inflate(data: Uint8Array): Uint8Array {
  try {
    return inflateSync(data);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    try {
      if (code === 'Z_BUF_ERROR') return inflateSync(data, { finishFlush: constants.Z_SYNC_FLUSH });
      if (code === 'Z_DATA_ERROR' && data.length > 2) return inflateRawSync(data.subarray(2));
    } catch (retryError) {
      throw doubt(retryError);
    }
    throw doubt(error);
  }
}

function doubt(error: unknown): PdfDoubt {
  return new PdfDoubt(`cannot inflate stream: ${(error as Error).message}`);
}

function intParam(params: PdfDict | undefined, key: string, fallback: number): number {
  const value = params?.get(key);
  return typeof value === 'number' && Number.isInteger(value) ? value : fallback;
}

function unpredict(data: Uint8Array, params: PdfDict | undefined): Uint8Array {
  if (!params) return data;
  const predictor = intParam(params, 'Predictor', 1);
  if (predictor === 1) return data;
  const colors = intParam(params, 'Colors', 1);
  const bits = intParam(params, 'BitsPerComponent', 8);
  const columns = intParam(params, 'Columns', 1);
  if (colors < 1 || colors > 32 || ![1, 2, 4, 8, 16].includes(bits) || columns < 1 || columns > 1 << 20) {
    throw new PdfDoubt('bad predictor parameters');
  }
  const pixelBytes = Math.max(1, (colors * bits) / 8);
  const rowBytes = Math.ceil((colors * bits * columns) / 8);
  if (predictor >= 10) return unpredictPng(data, rowBytes, Math.ceil(pixelBytes));
  if (predictor === 2 && bits === 8) return unpredictTiff(data, rowBytes, colors);
  throw new PdfDoubt(`unsupported predictor ${predictor}`);
}

/** PNG row filters (RFC 2083 §6): each row starts with its filter type. */
function unpredictPng(data: Uint8Array, rowBytes: number, bpp: number): Uint8Array {
  const rows = Math.floor(data.length / (rowBytes + 1));
  const out = new Uint8Array(rows * rowBytes);
  for (let r = 0; r < rows; r++) {
    const type = data[r * (rowBytes + 1)]!;
    const src = r * (rowBytes + 1) + 1;
    const dst = r * rowBytes;
    for (let i = 0; i < rowBytes; i++) {
      const raw = data[src + i]!;
      const left = i >= bpp ? out[dst + i - bpp]! : 0;
      const up = r > 0 ? out[dst + i - rowBytes]! : 0;
      const upLeft = r > 0 && i >= bpp ? out[dst + i - rowBytes - bpp]! : 0;
      out[dst + i] = (raw + pngPredict(type, left, up, upLeft)) & 0xff;
    }
  }
  return out;
}

function pngPredict(type: number, left: number, up: number, upLeft: number): number {
  switch (type) {
    case 0:
      return 0;
    case 1:
      return left;
    case 2:
      return up;
    case 3:
      return (left + up) >> 1;
    case 4: {
      const p = left + up - upLeft;
      const pa = Math.abs(p - left);
      const pb = Math.abs(p - up);
      const pc = Math.abs(p - upLeft);
      return pa <= pb && pa <= pc ? left : pb <= pc ? up : upLeft;
    }
    default:
      throw new PdfDoubt(`bad PNG predictor row type ${type}`);
  }
}

function unpredictTiff(data: Uint8Array, rowBytes: number, colors: number): Uint8Array {
  const out = Uint8Array.from(data);
  for (let row = 0; row + rowBytes <= out.length; row += rowBytes) {
    for (let i = colors; i < rowBytes; i++) out[row + i] = (out[row + i]! + out[row + i - colors]!) & 0xff;
  }
  return out;
}

const isSpace = (c: number): boolean => c === 0 || c === 9 || c === 10 || c === 12 || c === 13 || c === 32;

function asciiHex(data: Uint8Array): Uint8Array {
  const text = Buffer.from(data).toString('latin1');
  const end = text.indexOf('>');
  const digits = (end < 0 ? text : text.slice(0, end)).replace(/[\0\t\n\f\r ]/g, '');
  if (!/^[0-9A-Fa-f]*$/.test(digits)) throw new PdfDoubt('bad ASCIIHexDecode data');
  return Buffer.from(digits.length % 2 ? `${digits}0` : digits, 'hex');
}

/** As poppler decodes it: characters out of range are not refused, only a group's low 32 bits count. */
function ascii85(data: Uint8Array): Uint8Array {
  const out: number[] = [];
  const group: number[] = [];
  const flush = (count: number): void => {
    let value = 0;
    for (let i = 0; i < 5; i++) value = (((value * 85 + (group[i] ?? 84)) % 2 ** 32) + 2 ** 32) % 2 ** 32;
    for (let i = 0; i < count - 1; i++) out.push((value >>> (24 - 8 * i)) & 0xff);
    group.length = 0;
  };
  for (const c of data) {
    if (c === 0x7e) break; // '~>' ends the data
    if (isSpace(c)) continue;
    if (c === 0x7a && group.length === 0) {
      out.push(0, 0, 0, 0);
      continue;
    }
    group.push(c - 0x21);
    if (group.length === 5) flush(5);
  }
  if (group.length > 0) flush(group.length);
  return Uint8Array.from(out);
}

function runLength(data: Uint8Array): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < data.length; ) {
    const length = data[i++]!;
    if (length === 128) break;
    if (length < 128) {
      out.push(...data.subarray(i, i + length + 1));
      i += length + 1;
    } else {
      out.push(...Array<number>(257 - length).fill(data[i++] ?? 0));
    }
  }
  return Uint8Array.from(out);
}

/** LZW with 9- to 12-bit codes, clear 256, end 257 (§7.4.4). */
function lzw(data: Uint8Array, earlyChange: number): Uint8Array {
  const out: number[] = [];
  let table: number[][] = [];
  const reset = (): void => {
    table = Array.from({ length: 258 }, (_, i) => (i < 256 ? [i] : []));
  };
  reset();
  let width = 9;
  let previous: number[] | undefined;
  let buffer = 0;
  let bits = 0;
  for (const byte of data) {
    buffer = ((buffer << 8) | byte) & 0xffffff;
    bits += 8;
    while (bits >= width) {
      const code = (buffer >>> (bits - width)) & ((1 << width) - 1);
      bits -= width;
      if (code === 256) {
        reset();
        width = 9;
        previous = undefined;
        continue;
      }
      if (code === 257) return Uint8Array.from(out);
      let entry = table[code];
      if (!entry || (entry.length === 0 && code >= 258)) {
        if (!previous || code !== table.length) throw new PdfDoubt('bad LZWDecode code');
        entry = [...previous, previous[0]!];
      }
      out.push(...entry);
      if (previous) table.push([...previous, entry[0]!]);
      previous = entry;
      if (table.length + earlyChange >= 1 << width && width < 12) width++;
    }
  }
  return Uint8Array.from(out);
}
