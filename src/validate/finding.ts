/** One problem found in a document or a DICOM series, addressed by JSON Pointer (RFC 6901). */
export interface Finding {
  /** JSON Pointer into the validated document ('' for the whole document). */
  pointer: string;
  /** Stable machine-readable code, e.g. 'duplicate_url', 'invalid_fps', 'dicom_inconsistent_rows'. */
  code: string;
  severity: 'error' | 'warning';
  message: string;
  /** The input the finding is about, when validating several (file name, or 'line 12' of JSONL). */
  file?: string;
}

/** Appends one reference token to a JSON Pointer, escaping '~' and '/'. */
export function pointerJoin(pointer: string, token: string | number): string {
  return `${pointer}/${String(token).replace(/~/g, '~0').replace(/\//g, '~1')}`;
}
