/**
 * The checks Encord's server runs on a DICOM series (dicom-metadata-upload README), run on the
 * `tags` of its files before upload: one StudyInstanceUID per series, unique SOPInstanceUIDs,
 * UIDs of 1-64 characters, consistent Rows/Columns, orientation and window settings, valid
 * NumberOfFrames, regular slice spacing, and the geometry tags present (a warning).
 */
import { REQUIRED_DICOM_TAGS } from '../schema/dicom.js';
import type { DicomJsonElement } from '../schema/metadata.js';
import { pointerJoin, type Finding } from './finding.js';
import type { DicomSeriesFile } from './series.js';

const TAG = {
  sopInstanceUid: '00080018',
  studyInstanceUid: '0020000D',
  seriesInstanceUid: '0020000E',
  instanceNumber: '00200013',
  imagePosition: '00200032',
  imageOrientation: '00200037',
  planePosition: '00209113',
  planeOrientation: '00209116',
  numberOfFrames: '00280008',
  rows: '00280010',
  columns: '00280011',
  pixelSpacing: '00280030',
  sliceThickness: '00180050',
  windowCenter: '00281050',
  windowWidth: '00281051',
  pixelMeasures: '00289110',
  sharedGroups: '52009229',
  perFrameGroups: '52009230',
} as const;

/** Keywords of the required tags, for messages. */
const KEYWORDS: Record<string, string> = Object.fromEntries(REQUIRED_DICOM_TAGS.map((t) => [t.tag, t.keyword]));

/** Share of slice gaps that must match the series spacing (Encord's z-spacing check). */
export const REGULAR_GAP_SHARE = 0.97;
/** A gap matches the spacing within 5 % or 0.1 mm (dicom2nifti's slice-increment tolerance). */
const GAP_RELATIVE_TOLERANCE = 0.05;
const GAP_ABSOLUTE_TOLERANCE = 0.1;
/** Direction cosines and window values equal within rounding of their decimal strings. */
const VALUE_TOLERANCE = 1e-4;
const MAX_UID_LENGTH = 64;
const NAMES_IN_MESSAGE = 10;

type Tags = Record<string, DicomJsonElement | null | undefined>;

function values(tags: Tags | undefined, tag: string): unknown[] | undefined {
  const value = tags?.[tag]?.Value;
  return Array.isArray(value) && value.length > 0 ? value : undefined;
}

function text(tags: Tags | undefined, tag: string): string | undefined {
  const first = values(tags, tag)?.[0];
  return typeof first === 'string' ? first : undefined;
}

function numbers(tags: Tags | undefined, tag: string): number[] | undefined {
  const list = values(tags, tag);
  return list?.every((v) => typeof v === 'number' && Number.isFinite(v)) ? (list as number[]) : undefined;
}

/** The first item of a sequence element. */
function item(tags: Tags | undefined, tag: string): Tags | undefined {
  const first = values(tags, tag)?.[0];
  return first && typeof first === 'object' ? (first as Tags) : undefined;
}

function items(tags: Tags | undefined, tag: string): Tags[] {
  return (values(tags, tag) ?? []).filter((v): v is Tags => Boolean(v) && typeof v === 'object');
}

/** A value of a frame's functional group macro: the per-frame item, else the shared one. */
function functionalGroup(tags: Tags, frame: Tags | undefined, macro: string, tag: string): number[] | undefined {
  return numbers(item(frame, macro), tag) ?? numbers(item(item(tags, TAG.sharedGroups), macro), tag);
}

interface Slice {
  file: DicomSeriesFile;
  instanceNumber: number;
  position?: number[];
  orientation?: number[];
}

/** Each frame's position and orientation: the classic tags, else the enhanced functional groups. */
function slicesOf(file: DicomSeriesFile): Slice[] {
  const tags = file.tags;
  const instanceNumber = numbers(tags, TAG.instanceNumber)?.[0] ?? Number.POSITIVE_INFINITY;
  const orientation = numbers(tags, TAG.imageOrientation);
  const position = numbers(tags, TAG.imagePosition);
  if (position) return [{ file, instanceNumber, position, orientation: orientation ?? functionalGroup(tags, undefined, TAG.planeOrientation, TAG.imageOrientation) }];
  const frames = items(tags, TAG.perFrameGroups);
  if (frames.length === 0) return [{ file, instanceNumber, orientation: orientation ?? functionalGroup(tags, undefined, TAG.planeOrientation, TAG.imageOrientation) }];
  return frames.map((frame) => ({
    file,
    instanceNumber,
    position: functionalGroup(tags, frame, TAG.planePosition, TAG.imagePosition),
    orientation: orientation ?? functionalGroup(tags, frame, TAG.planeOrientation, TAG.imageOrientation),
  }));
}

function namesOf(files: DicomSeriesFile[]): string {
  const names = [...new Set(files.map((f) => f.file))];
  const shown = names.slice(0, NAMES_IN_MESSAGE).join(', ');
  return names.length > NAMES_IN_MESSAGE ? `${shown} and ${names.length - NAMES_IN_MESSAGE} more` : shown;
}

function finding(file: DicomSeriesFile, tag: string | undefined, code: string, severity: Finding['severity'], message: string): Finding {
  const pointer = tag === undefined ? file.pointer : pointerJoin(pointerJoin(file.pointer, 'tags'), tag);
  return { pointer, code, severity, message, file: file.file };
}

const sameNumbers = (a: number[] | undefined, b: number[] | undefined): boolean =>
  a === b || (a !== undefined && b !== undefined && a.length === b.length && a.every((v, i) => Math.abs(v - b[i]!) <= VALUE_TOLERANCE));

/**
 * Groups by a key and reports the files that differ from the most common value (the first one
 * seen wins a tie), one finding per differing file.
 */
function inconsistent<K>(
  files: DicomSeriesFile[],
  keyOf: (file: DicomSeriesFile) => K | undefined,
  same: (a: K, b: K) => boolean,
  report: (file: DicomSeriesFile, value: K, reference: K, agreeing: DicomSeriesFile[]) => Finding,
): Finding[] {
  const groups: Array<{ value: K; files: DicomSeriesFile[] }> = [];
  for (const file of files) {
    const value = keyOf(file);
    if (value === undefined) continue;
    const group = groups.find((g) => same(g.value, value));
    if (group) group.files.push(file);
    else groups.push({ value, files: [file] });
  }
  if (groups.length < 2) return [];
  const reference = groups.reduce((best, g) => (g.files.length > best.files.length ? g : best));
  return groups.filter((g) => g !== reference).flatMap((g) => g.files.map((file) => report(file, g.value, reference.value, reference.files)));
}

function checkUids(file: DicomSeriesFile): Finding[] {
  return [TAG.sopInstanceUid, TAG.studyInstanceUid, TAG.seriesInstanceUid].flatMap((tag) => {
    const uid = text(file.tags, tag);
    if (uid !== undefined && uid.length >= 1 && uid.length <= MAX_UID_LENGTH) return [];
    const what = uid === undefined ? 'is missing' : `has ${uid.length} characters`;
    return [finding(file, tag, 'dicom_invalid_uid', 'error', `${KEYWORDS[tag]} ${what}; UIDs must have 1 to ${MAX_UID_LENGTH} characters`)];
  });
}

function checkStudy(series: string, files: DicomSeriesFile[]): Finding[] {
  return inconsistent(files, (f) => text(f.tags, TAG.studyInstanceUid), (a, b) => a === b, (file, value, reference, agreeing) =>
    finding(file, TAG.studyInstanceUid, 'dicom_inconsistent_study_uid', 'error',
      `series ${series}: StudyInstanceUID ${value} differs from ${reference} in ${namesOf(agreeing)}; a series belongs to one study`));
}

function checkDuplicateSops(files: DicomSeriesFile[]): Finding[] {
  const byUid = new Map<string, DicomSeriesFile[]>();
  for (const file of files) {
    const uid = text(file.tags, TAG.sopInstanceUid);
    if (uid !== undefined) byUid.set(uid, [...(byUid.get(uid) ?? []), file]);
  }
  return [...byUid].filter(([, same]) => same.length > 1).flatMap(([uid, same]) =>
    same.map((file) => finding(file, TAG.sopInstanceUid, 'dicom_duplicate_sop_instance_uid', 'error',
      `SOPInstanceUID ${uid} is shared by ${namesOf(same)}; each instance needs its own`)));
}

function checkMatrix(series: string, files: DicomSeriesFile[]): Finding[] {
  const matrix = (f: DicomSeriesFile): number[] | undefined => {
    const rows = numbers(f.tags, TAG.rows)?.[0];
    const columns = numbers(f.tags, TAG.columns)?.[0];
    return rows === undefined || columns === undefined ? undefined : [rows, columns];
  };
  return inconsistent(files, matrix, (a, b) => a[0] === b[0] && a[1] === b[1], (file, value, reference, agreeing) =>
    finding(file, TAG.rows, 'dicom_inconsistent_rows_columns', 'error',
      `series ${series}: Rows/Columns ${value.join('x')} differ from ${reference.join('x')} in ${namesOf(agreeing)}`));
}

function checkOrientation(series: string, slices: Slice[]): Finding[] {
  const first = new Map<DicomSeriesFile, number[] | undefined>();
  for (const slice of slices) if (!first.has(slice.file)) first.set(slice.file, slice.orientation);
  const intraFile = slices.filter((s) => s.orientation && !sameNumbers(s.orientation, first.get(s.file)));
  const files = [...first.keys()];
  const findings = inconsistent(files, (f) => first.get(f), sameNumbers, (file, value, reference, agreeing) =>
    finding(file, TAG.imageOrientation, 'dicom_inconsistent_orientation', 'error',
      `series ${series}: ImageOrientationPatient [${value.join(', ')}] differs from [${reference.join(', ')}] in ${namesOf(agreeing)}`));
  for (const file of new Set(intraFile.map((s) => s.file))) {
    findings.push(finding(file, TAG.perFrameGroups, 'dicom_inconsistent_orientation', 'error', `series ${series}: the frames of ${file.file} differ in orientation`));
  }
  return findings;
}

function checkWindow(series: string, files: DicomSeriesFile[]): Finding[] {
  const window = (f: DicomSeriesFile): number[][] | undefined => {
    const center = numbers(f.tags, TAG.windowCenter);
    const width = numbers(f.tags, TAG.windowWidth);
    return center || width ? [center ?? [], width ?? []] : undefined;
  };
  const findings: Finding[] = [];
  for (const file of files) {
    const settings = window(file);
    if (settings && (settings[0]!.length !== settings[1]!.length || settings[1]!.some((w) => w <= 0))) {
      findings.push(finding(file, TAG.windowWidth, 'dicom_invalid_window', 'error',
        `WindowCenter [${settings[0]!.join(', ')}] and WindowWidth [${settings[1]!.join(', ')}] are not pairs of a center and a positive width`));
    }
  }
  const same = (a: number[][], b: number[][]): boolean => sameNumbers(a[0], b[0]) && sameNumbers(a[1], b[1]);
  return findings.concat(inconsistent(files, window, same, (file, value, reference, agreeing) =>
    finding(file, TAG.windowCenter, 'dicom_inconsistent_window', 'error',
      `series ${series}: window center/width ${value[0]!.join('\\')}/${value[1]!.join('\\')} differ from ${reference[0]!.join('\\')}/${reference[1]!.join('\\')} in ${namesOf(agreeing)}`)));
}

function checkFrames(file: DicomSeriesFile): Finding[] {
  const element = file.tags[TAG.numberOfFrames];
  if (!element) return [];
  const frames = numbers(file.tags, TAG.numberOfFrames);
  const count = frames?.[0];
  if (frames?.length !== 1 || count === undefined || !Number.isInteger(count) || count < 1) {
    return [finding(file, TAG.numberOfFrames, 'dicom_invalid_number_of_frames', 'error', `NumberOfFrames ${JSON.stringify(element.Value ?? null)} is not a positive whole number`)];
  }
  const perFrame = items(file.tags, TAG.perFrameGroups).length;
  if (perFrame > 0 && perFrame !== count) {
    return [finding(file, TAG.numberOfFrames, 'dicom_invalid_number_of_frames', 'error', `NumberOfFrames is ${count} but PerFrameFunctionalGroupsSequence has ${perFrame} items`)];
  }
  return [];
}

/** Slices in series order: InstanceNumber, then position along the slice normal. */
function ordered(slices: Slice[], normal: number[]): Array<{ slice: Slice; depth: number }> {
  const depth = (s: Slice): number => s.position!.reduce((sum, v, i) => sum + v * normal[i]!, 0);
  return slices
    .map((slice) => ({ slice, depth: depth(slice) }))
    .sort((a, b) => a.slice.instanceNumber - b.slice.instanceNumber || a.depth - b.depth);
}

function checkSpacing(series: string, slices: Slice[]): Finding[] {
  const placed = slices.filter((s) => s.position?.length === 3 && s.orientation?.length === 6);
  if (placed.length < 3 || placed.length !== slices.length) return [];
  const [rx, ry, rz, cx, cy, cz] = placed[0]!.orientation!;
  const normal = [ry! * cz! - rz! * cy!, rz! * cx! - rx! * cz!, rx! * cy! - ry! * cx!];
  const order = ordered(placed, normal);
  const gaps = order.slice(1).map((s, i) => Math.abs(s.depth - order[i]!.depth));
  const spacing = [...gaps].sort((a, b) => a - b)[gaps.length >> 1]!;
  const tolerance = Math.max(GAP_ABSOLUTE_TOLERANCE, GAP_RELATIVE_TOLERANCE * spacing);
  const regular = gaps.map((gap) => gap > 0 && Math.abs(gap - spacing) <= tolerance);
  const matching = regular.filter(Boolean).length;
  if (spacing > 0 && matching >= REGULAR_GAP_SHARE * gaps.length) return [];
  const odd = order.slice(1).filter((_, i) => !regular[i]).map((s) => s.slice.file);
  return [finding(order[0]!.slice.file, TAG.imagePosition, 'dicom_irregular_slice_spacing', 'error',
    `series ${series}: ${matching} of ${gaps.length} slice gaps match the ${spacing.toFixed(3)} mm spacing (${Math.round(REGULAR_GAP_SHARE * 100)} % must); irregular at ${namesOf(odd)}`)];
}

/** ImagePositionPatient, ImageOrientationPatient, PixelSpacing, SliceThickness: each missing one is a warning. */
function checkGeometryPresent(series: string, files: DicomSeriesFile[]): Finding[] {
  const shared = (f: DicomSeriesFile, macro: string, tag: string): boolean =>
    numbers(item(item(f.tags, TAG.sharedGroups), macro), tag) !== undefined ||
    numbers(item(item(f.tags, TAG.perFrameGroups), macro), tag) !== undefined;
  const present: Array<[string, (f: DicomSeriesFile) => boolean]> = [
    [TAG.imagePosition, (f) => numbers(f.tags, TAG.imagePosition) !== undefined || shared(f, TAG.planePosition, TAG.imagePosition)],
    [TAG.imageOrientation, (f) => numbers(f.tags, TAG.imageOrientation) !== undefined || shared(f, TAG.planeOrientation, TAG.imageOrientation)],
    [TAG.pixelSpacing, (f) => numbers(f.tags, TAG.pixelSpacing) !== undefined || shared(f, TAG.pixelMeasures, TAG.pixelSpacing)],
    [TAG.sliceThickness, (f) => numbers(f.tags, TAG.sliceThickness) !== undefined || shared(f, TAG.pixelMeasures, TAG.sliceThickness)],
  ];
  return present.flatMap(([tag, has]) => {
    const missing = files.filter((f) => !has(f));
    if (missing.length === 0) return [];
    const where = missing.length === files.length ? `every file (${namesOf(missing)})` : namesOf(missing);
    return [finding(missing[0]!, tag, 'dicom_missing_geometry', 'warning',
      `series ${series}: ${KEYWORDS[tag]} is missing from ${where}; Encord cannot place the slices in 3D without it`)];
  });
}

/** Runs every series check over the files, grouped by SeriesInstanceUID. */
export function checkDicomSeries(files: DicomSeriesFile[]): Finding[] {
  const findings: Finding[] = files.flatMap((file) => [...checkUids(file), ...checkFrames(file)]);
  const seriesOf = new Map<string, DicomSeriesFile[]>();
  for (const file of files) {
    const uid = text(file.tags, TAG.seriesInstanceUid);
    if (uid !== undefined) seriesOf.set(uid, [...(seriesOf.get(uid) ?? []), file]);
  }
  for (const [series, members] of seriesOf) {
    const slices = members.flatMap(slicesOf);
    findings.push(
      ...checkStudy(series, members),
      ...checkDuplicateSops(members),
      ...checkMatrix(series, members),
      ...checkOrientation(series, slices),
      ...checkWindow(series, members),
      ...checkSpacing(series, slices),
      ...checkGeometryPresent(series, members),
    );
  }
  return findings;
}
