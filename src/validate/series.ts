import type { DicomJsonElement } from '../schema/metadata.js';
import type { Finding } from './finding.js';

/** One file of a DICOM series as the cross-file checks see it. */
export interface DicomSeriesFile {
  /** The file's URL as the document gives it. */
  file: string;
  /** JSON Pointer to the file's DICOM metadata in the document. */
  pointer: string;
  tags: Record<string, DicomJsonElement | null>;
}

/** Checks one series as Encord's server does (one study, unique SOP instances, ...). */
export type DicomSeriesChecker = (files: DicomSeriesFile[]) => Finding[];

let seriesChecker: DicomSeriesChecker | undefined;

/**
 * Installs the cross-file DICOM series checks (src/validate/dicom-series.ts `checkDicomSeries`).
 * Until one is installed, documents are validated file by file only.
 */
export function setDicomSeriesChecker(checker: DicomSeriesChecker | undefined): void {
  seriesChecker = checker;
}

export function checkSeriesFiles(files: DicomSeriesFile[]): Finding[] {
  return seriesChecker && files.length > 0 ? seriesChecker(files) : [];
}
