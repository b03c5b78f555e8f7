import { ProbeError } from '../../errors.js';
import { openEncryption } from './crypto.js';
import { PdfStream, type PdfFile, type PdfObject } from './objects.js';
import { decidePageCount, readPageTree } from './pages.js';
import type { RangeReader } from './range.js';
import { Parser, PdfDict, PdfDoubt, type PdfValue } from './syntax.js';

/** The catalog was read but not its page tree; pdfinfo still prints a linearized file's /N. */
export class PageTreeDoubt extends PdfDoubt {}

/**
 * The page count of a file whose cross-reference data is known (read or rebuilt): the
 * security handler first (a password pdfinfo lacks is an `encrypted` error), then the
 * catalog's page tree.
 */
export async function countPages(file: PdfFile): Promise<number> {
  await applyEncryption(file);
  const catalog = await file.resolve(file.trailer.get('Root'));
  if (!(catalog instanceof PdfDict)) {
    if (file.recovering) throw new ProbeError('corrupt_file', 'no document catalog');
    throw new PdfDoubt('the trailer /Root is not a dictionary');
  }
  const facts = await readPageTree(file, catalog, await linearizedPageCount(file.reader)).catch((error: unknown) => {
    throw error instanceof PdfDoubt ? new PageTreeDoubt(error.message, { cause: error }) : error;
  });
  return decidePageCount(facts);
}

/** Sets the file's stream decryptor, or throws `encrypted` where pdfinfo would ask for a password. */
async function applyEncryption(file: PdfFile): Promise<void> {
  const encryptEntry = file.trailer.get('Encrypt');
  if (encryptEntry === undefined) return;
  const encrypt = await resolvedDict(file, await file.resolve(encryptEntry));
  // poppler reads a file whose /Encrypt is not a dictionary as unencrypted.
  if (!encrypt) return;
  const cryptFilters = await resolvedDict(file, encrypt.get('CF'));
  const encryption = openEncryption(encrypt, cryptFilters, file.trailer);
  if (encryption.kind === 'locked') throw new ProbeError('encrypted', `${encryption.reason}; pdfinfo cannot open it without a password`);
  if (encryption.kind === 'open') file.decryptor = encryption.decrypt;
}

/** A dictionary with its direct entries' references followed (poppler's dictLookup does so). */
async function resolvedDict(file: PdfFile, value: PdfObject | undefined): Promise<PdfDict | undefined> {
  if (!(value instanceof PdfDict)) return undefined;
  const entries = new Map<string, PdfValue>();
  for (const [key, entry] of value.entries) {
    const resolved = await file.resolve(entry);
    entries.set(key, resolved === undefined || resolved instanceof PdfStream ? null : resolved);
  }
  return new PdfDict(entries, value.duplicateKeys);
}

/**
 * pdfinfo prints a linearized file's /N instead of its /Count: poppler takes the first object
 * of the file as the linearization dictionary when it has /Linearized and its /L is the file size.
 */
export async function linearizedPageCount(reader: RangeReader): Promise<number | undefined> {
  const parser = new Parser(await reader.read(0, 4096), reader.size <= 4096);
  try {
    const num = parser.tryUnsignedInt();
    const gen = num === undefined ? undefined : parser.tryUnsignedInt();
    if (gen === undefined || !parser.tryKeyword('obj')) return undefined;
    const dict = parser.parseValue();
    if (!(dict instanceof PdfDict)) return undefined;
    const linearized = dict.get('Linearized');
    const length = dict.get('L');
    const pages = dict.get('N');
    if (typeof linearized !== 'number' || linearized <= 0 || length !== reader.size) return undefined;
    return typeof pages === 'number' && Number.isInteger(pages) && pages > 0 && pages <= 2 ** 31 - 1 ? pages : undefined;
  } catch {
    return undefined;
  }
}
