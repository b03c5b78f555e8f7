import { constants, inflateRawSync, inflateSync } from 'node:zlib';
import { PdfDict, PdfDoubt, PdfName, type PdfValue } from './syntax.js';

/**
 * Decodes the stream filters cross-reference and object streams use in practice: FlateDecode
 * with or without a PNG/TIFF predictor. Any other filter (LZW, Brotli, ...) is doubt: poppler
 * and qpdf may not read it either, so guessing is never right.
 */
export function decodeStream(dict: PdfDict, raw: Uint8Array): Uint8Array {
  const filters = asList(dict.get('Filter'));
  const params = asList(dict.get('DecodeParms') ?? dict.get('DP'));
  let data = raw;
  filters.forEach((filter, i) => {
    if (!(filter instanceof PdfName)) throw new PdfDoubt('stream filter is not a name');
    if (filter.name !== 'FlateDecode' && filter.name !== 'Fl') throw new PdfDoubt(`unsupported stream filter /${filter.name}`);
    const param = params[i];
    data = unpredict(inflate(data), param instanceof PdfDict ? param : undefined);
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

function intParam(params: PdfDict, key: string, fallback: number): number {
  const value = params.get(key);
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
