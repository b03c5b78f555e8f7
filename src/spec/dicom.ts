import type { CustomerProvidedDicomSeriesDicomFileMetadata, DicomJsonElement } from '../schema/metadata.js';

/** Reading values out of pydicom-JSON tags (the DICOM probe's metadata). */

type Tags = CustomerProvidedDicomSeriesDicomFileMetadata['tags'];

export const SOP_INSTANCE_UID = '00080018';
export const STUDY_INSTANCE_UID = '0020000D';
export const SERIES_INSTANCE_UID = '0020000E';
const INSTANCE_NUMBER = '00200013';
const IMAGE_POSITION_PATIENT = '00200032';
const IMAGE_ORIENTATION_PATIENT = '00200037';

export function tagValues(tags: Tags, key: string): unknown[] {
  const element: DicomJsonElement | null | undefined = tags[key];
  return Array.isArray(element?.Value) ? element.Value : [];
}

export function firstString(tags: Tags, key: string): string | undefined {
  const value = tagValues(tags, key)[0];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function numbers(tags: Tags, key: string): number[] {
  return tagValues(tags, key).map(Number);
}

/**
 * Where a slice sits along the series' stacking axis: ImagePositionPatient projected on the
 * slice normal (row x column direction of ImageOrientationPatient), as viewers order slices.
 */
export function slicePosition(tags: Tags): number | undefined {
  const position = numbers(tags, IMAGE_POSITION_PATIENT);
  const orientation = numbers(tags, IMAGE_ORIENTATION_PATIENT);
  if (position.length !== 3 || orientation.length !== 6 || [...position, ...orientation].some((n) => !Number.isFinite(n))) return undefined;
  const [rx, ry, rz, cx, cy, cz] = orientation as [number, number, number, number, number, number];
  const normal = [ry * cz - rz * cy, rz * cx - rx * cz, rx * cy - ry * cx] as const;
  return position.reduce((sum, p, i) => sum + p * (normal[i] ?? 0), 0);
}

export function instanceNumber(tags: Tags): number | undefined {
  const value = Number(tagValues(tags, INSTANCE_NUMBER)[0]);
  return Number.isFinite(value) && tagValues(tags, INSTANCE_NUMBER).length > 0 ? value : undefined;
}

/** Series order: InstanceNumber, then slice position, then URL (files lacking a key sort last). */
export function compareSlices(a: { url: string; tags: Tags }, b: { url: string; tags: Tags }): number {
  return (
    compareOptional(instanceNumber(a.tags), instanceNumber(b.tags)) ||
    compareOptional(slicePosition(a.tags), slicePosition(b.tags)) ||
    (a.url < b.url ? -1 : a.url > b.url ? 1 : 0)
  );
}

function compareOptional(a: number | undefined, b: number | undefined): number {
  if (a === undefined || b === undefined) return a === b ? 0 : a === undefined ? 1 : -1;
  return a - b;
}
