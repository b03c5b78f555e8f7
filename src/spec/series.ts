import type { CustomerProvidedDicomSeriesDicomFileMetadata } from '../schema/metadata.js';
import { checkDicomSeries } from '../validate/dicom-series.js';
import type { Finding } from '../validate/finding.js';

/** One file of a gathered DICOM series, in series order. */
export interface SeriesFile {
  url: string;
  title?: string;
  tags: CustomerProvidedDicomSeriesDicomFileMetadata['tags'];
}

/** The checks Encord's server runs on a series, on the probed tags of its files (findings name them by URL). */
export function checkSeries(files: readonly SeriesFile[]): Finding[] {
  return checkDicomSeries(files.map((file) => ({ file: file.url, pointer: '', tags: file.tags })));
}
