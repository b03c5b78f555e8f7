export type { Finding } from './finding.js';
export { pointerJoin } from './finding.js';
export {
  validateDocument,
  type DocumentValidation,
  type ValidateOptions,
} from './document.js';
export { validateFile, validateStream, type FileValidation } from './file.js';
export { DOCUMENT_KINDS, detectKind } from './kinds.js';
export { setDicomSeriesChecker, type DicomSeriesChecker, type DicomSeriesFile } from './series.js';
export { displaySupport, mimeFitsKind, type DisplaySupport, type MediaKind } from './media.js';
export { MAX_ITEMS_PER_FILE, MAX_URLS_PER_FILE } from './upload.js';
export { DEFAULT_MAX_FINDINGS } from './sink.js';
