/**
 * pdf-lib as the second reader where pdf.js refuses an encrypted file that poppler opens
 * without a password (attachment-only encryption, handlers poppler ignores): with
 * `ignoreEncryption` it parses every object in file order and walks the page tree, which
 * encryption leaves in the clear outside object streams.
 */
export async function pdfLibPageCount(bytes: Uint8Array): Promise<number | undefined> {
  const { PDFDocument } = await import('pdf-lib');
  try {
    const document = await PDFDocument.load(bytes, { ignoreEncryption: true, updateMetadata: false, throwOnInvalidObject: false });
    return document.getPageCount();
  } catch {
    return undefined;
  }
}
