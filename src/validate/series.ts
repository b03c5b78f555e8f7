import type { DicomJsonElement } from '../schema/metadata.js';
import { checkDicomSeries } from './dicom-series.js';
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

let seriesChecker: DicomSeriesChecker | undefined = checkDicomSeries;

/**
 * Replaces the cross-file DICOM series checks (default: `checkDicomSeries` of
 * ./dicom-series.ts); undefined validates DICOM files one by one only.
 */
export function setDicomSeriesChecker(checker: DicomSeriesChecker | undefined): void {
  seriesChecker = checker;
}

export function checkSeriesFiles(files: DicomSeriesFile[]): Finding[] {
  return seriesChecker && files.length > 0 ? seriesChecker(files) : [];
}
