/**
 * pdf.js (legacy build, no worker, no fonts, no eval) as an independent second reader for
 * damaged files: its recovery mode rebuilds the cross-reference data its own way, so a page
 * count both readers agree on does not hang on one reconstruction heuristic.
 */
export type PdfjsOutcome = { kind: 'pages'; pages: number } | { kind: 'password' } | { kind: 'failed'; message: string };

type PdfjsModule = typeof import('pdfjs-dist/legacy/build/pdf.mjs');
let pdfjs: Promise<PdfjsModule> | undefined;

export async function pdfjsPageCount(bytes: Uint8Array): Promise<PdfjsOutcome> {
  pdfjs ??= import('pdfjs-dist/legacy/build/pdf.mjs');
  const { getDocument, VerbosityLevel } = await pdfjs;
  // pdf.js may detach the buffer it is given, and refuses Buffers: it gets a plain copy.
  const task = getDocument({
    data: new Uint8Array(bytes),
    disableFontFace: true,
    isEvalSupported: false,
    stopAtErrors: false,
    useSystemFonts: false,
    useWorkerFetch: false,
    verbosity: VerbosityLevel.ERRORS,
  });
  try {
    const document = await task.promise;
    return { kind: 'pages', pages: document.numPages };
  } catch (error) {
    // pdf.js 5 does not export PasswordException; its name is stable.
    if (error instanceof Error && error.name === 'PasswordException') return { kind: 'password' };
    return { kind: 'failed', message: error instanceof Error ? error.message : String(error) };
  } finally {
    await task.destroy();
  }
}
