import type { CustomerProvidedDicomSeriesDicomFileMetadata } from '../schema/metadata.js';
import type { Finding } from '../validate/finding.js';

/** One file of a gathered DICOM series, in series order. */
export interface SeriesFile {
  url: string;
  title?: string;
  tags: CustomerProvidedDicomSeriesDicomFileMetadata['tags'];
}

/** The checks Encord's server runs on a series (PENDING: wired to src/validate/dicom-series.ts when it lands). */
export function checkSeries(_files: readonly SeriesFile[]): Finding[] {
  return [];
}
