/**
 * Elements to the DICOM JSON model as pydicom 3's `Dataset[tag].to_json_dict()` gives them:
 * the VR lookup of its `raw_element_vr` hook (dictionary VRs for implicit files, private
 * dictionary by private creator, 'UN' replaced by the known VR), ambiguous VRs resolved as
 * `correct_ambiguous_vr_element` resolves them, and sequences decoded item by item.
 */
import type { DicomJsonElement } from '../../schema/metadata.js';
import type { DecodeNotes } from './charset.js';
import { DataSetError, ElementError, readSequenceValue, UNDEFINED_LENGTH, type Dataset, type RawElement } from './reader.js';
import { decodeValue, isKnownVr, type JsonValue } from './values.js';
import { dictionaryVr, hex8, privateDictionaryVr } from './vr-dictionary.js';
import type { ByteWindow } from './window.js';

const TAG_PIXEL_REPRESENTATION = 0x00280103;
const TAG_BITS_ALLOCATED = 0x00280100;
const TAG_WAVEFORM_BITS_ALLOCATED = 0x5400_1004;
const TAG_LUT_DESCRIPTOR = 0x00283002;
const TAG_LUT_DATA = 0x00283006;
const TAG_PIXEL_DATA = 0x7fe00010;
/** tag._LUT_DESCRIPTOR_TAGS: a negative first value read as a list gets 65536 added. */
const LUT_DESCRIPTOR_TAGS: ReadonlySet<number> = new Set([0x00281101, 0x00281102, 0x00281103, 0x00283002]);

const AMBIGUOUS_VRS: ReadonlySet<string> = new Set(['US or SS or OW', 'US or SS', 'US or OW', 'OB or OW']);
/** filewriter._AMBIGUOUS_US_SS_TAGS: US when Pixel Representation is 0, else SS. */
const US_SS_TAGS: ReadonlySet<number> = new Set([
  0x00189810, 0x00221452, 0x00280104, 0x00280105, 0x00280106, 0x00280107, 0x00280108, 0x00280109, 0x00280110,
  0x00280111, 0x00280120, 0x00280121, 0x00281101, 0x00281102, 0x00281103, 0x00283002, 0x00409211, 0x00409216,
  0x00603004, 0x00603006,
]);
/** Waveform elements: OW when implicit or Waveform Bits Allocated > 8, else OB. */
const OB_OW_TAGS: ReadonlySet<number> = new Set([0x54000110, 0x54000112, 0x5400100a, 0x54001010]);
/** (60xx,3000) Overlay Data for the even groups 6000-601E: always OW. */
const OVERLAY_DATA_TAGS: ReadonlySet<number> = new Set(Array.from({ length: 16 }, (_, i) => ((0x6000 + 2 * i) * 0x10000 + 0x3000) >>> 0));

/** What pydicom's `ds.Keyword` would give: undefined when absent, null when empty. */
type PyValue = undefined | null | unknown;
/** Stands for a bytes value: never a number, a string or a list. */
const BYTES_VALUE = Symbol('bytes');

export class JsonDecoder {
  constructor(
    private readonly window: ByteWindow,
    readonly notes: DecodeNotes = {},
  ) {}

  /** `Dataset.to_json_dict()` of a whole data set (a sequence item). */
  datasetJson(dataset: Dataset): Record<string, DicomJsonElement> {
    const json: Record<string, DicomJsonElement> = {};
    for (const tag of dataset.elements.keys()) json[hex8(tag)] = this.elementJson(dataset, tag);
    return json;
  }

  /** `dataset[tag].to_json_dict()`; throws ElementError when pydicom would raise. */
  elementJson(dataset: Dataset, tag: number): DicomJsonElement {
    const cached = dataset.decoded?.get(tag);
    if (cached instanceof Error) throw cached;
    if (cached !== undefined) return cached as DicomJsonElement;
    dataset.decoded ??= new Map();
    try {
      const json = this.decode(dataset, dataset.elements.get(tag)!);
      dataset.decoded.set(tag, json);
      return json;
    } catch (error) {
      if (error instanceof ElementError) dataset.decoded.set(tag, error);
      throw error;
    }
  }

  private decode(dataset: Dataset, raw: RawElement): DicomJsonElement {
    if (raw.items) return { vr: 'SQ', Value: raw.items.map((item) => this.datasetJson(item)) };
    let vr = this.resolveVr(dataset, raw);
    if (!isKnownVr(vr)) throw new ElementError(`Unknown Value Representation '${vr}'`);
    if (vr === 'SQ') return { vr, Value: this.sequenceItems(dataset, raw).map((item) => this.datasetJson(item)) };
    const ambiguous = AMBIGUOUS_VRS.has(vr);
    if (ambiguous) vr = this.resolveAmbiguousVr(dataset, raw, vr);
    if (raw.length === 0) return { vr };
    const value: JsonValue = decodeValue(vr, this.valueBytes(raw), {
      littleEndian: raw.littleEndian,
      encodings: dataset.encodings,
      notes: this.notes,
    });
    // pydicom's raw_element_value hook fixes LUT descriptors decoded as lists (VM > 1), i.e.
    // only those whose numeric VR was known before ambiguous-VR correction.
    const first = value.Value?.[0];
    if (!ambiguous && LUT_DESCRIPTOR_TAGS.has(raw.tag) && value.Value!.length > 1 && typeof first === 'number' && first < 0) {
      value.Value![0] = first + 65536;
    }
    if (value.Value) return { vr, Value: value.Value };
    return value.InlineBinary === undefined ? { vr } : { vr, InlineBinary: value.InlineBinary };
  }

  private valueBytes(raw: RawElement): Uint8Array {
    const bytes = this.window.slice(raw.valueOffset, raw.available);
    if (bytes.length < raw.available) {
      throw new DataSetError('truncated', `element (${hex8(raw.tag).replace(/^(.{4})/, '$1,')}) declares ${raw.length} bytes, the file holds ${bytes.length}`);
    }
    return bytes;
  }

  /** pydicom's `raw_element_vr` hook. */
  private resolveVr(dataset: Dataset, raw: RawElement): string {
    const isPrivate = (raw.tag >>> 16) % 2 === 1;
    if (raw.vr === null) {
      const known = dictionaryVr(raw.tag);
      if (known !== undefined) return known;
      if (isPrivate) return this.privateVr(dataset, raw.tag);
      return (raw.tag & 0xffff) === 0 ? 'UL' : 'UN';
    }
    if (raw.vr === 'UN') {
      if (isPrivate) return this.privateVr(dataset, raw.tag);
      if (raw.available < 0xffff) return dictionaryVr(raw.tag) ?? 'UN';
    }
    return raw.vr;
  }

  /** pydicom's `_private_vr_for_tag`: LO for private creators, else by the block's creator. */
  private privateVr(dataset: Dataset, tag: number): string {
    const element = tag & 0xffff;
    if (element >= 0x10 && element < 0x100) return 'LO';
    if (element & 0xff00) {
      const creatorTag = ((tag >>> 16) * 0x10000 + (element >> 8)) >>> 0;
      const creator = dataset.elements.has(creatorTag) ? this.pyValue(dataset, creatorTag) : undefined;
      if (typeof creator === 'string') return privateDictionaryVr(tag, creator) ?? 'UN';
    }
    return 'UN';
  }

  /** `dataset.Keyword`: a single value, a list, null for an empty element, undefined when absent. */
  private pyValue(dataset: Dataset, tag: number): PyValue {
    if (!dataset.elements.has(tag)) return undefined;
    const json = this.elementJson(dataset, tag);
    const value = json.Value;
    if (value === undefined) return json.InlineBinary === undefined ? null : BYTES_VALUE;
    if (json.vr === 'PN' || json.vr === 'SQ') return value;
    return value.length === 1 ? value[0] : value;
  }

  /** A defined-length sequence value, and pydicom's `_set_pixel_representation` for its items. */
  private sequenceItems(dataset: Dataset, raw: RawElement): Dataset[] {
    this.valueBytes(raw);
    const items = raw.length === 0 ? [] : readSequenceValue(this.window, raw, dataset.encodings);
    let pixelRep: PyValue = dataset.pixelRep;
    if (dataset.elements.has(TAG_PIXEL_REPRESENTATION)) pixelRep = this.pyValue(dataset, TAG_PIXEL_REPRESENTATION);
    if (pixelRep !== undefined && pixelRep !== null) dataset.pixelRep = pixelRep;
    for (const item of items) {
      const own = item.elements.get(TAG_PIXEL_REPRESENTATION);
      if (own && own.length !== 0) item.pixelRep = this.window.slice(own.valueOffset, own.available).includes(1) ? 1 : 0;
      else if (dataset.pixelRep !== undefined) item.pixelRep = dataset.pixelRep;
    }
    return items;
  }

  /** pydicom's `_correct_ambiguous_vr_element`, with the element's own data set as the only ancestor. */
  private resolveAmbiguousVr(dataset: Dataset, raw: RawElement, vr: string): string {
    const tag = raw.tag;
    if (tag === TAG_PIXEL_DATA) {
      if (raw.length === UNDEFINED_LENGTH) return 'OB';
      if (dataset.implicit) return 'OW';
      return this.greaterThan8(dataset, TAG_BITS_ALLOCATED, 'BitsAllocated') ? 'OW' : 'OB';
    }
    if (US_SS_TAGS.has(tag)) return this.pixelRepresentation(dataset) === 0 ? 'US' : 'SS';
    if (OB_OW_TAGS.has(tag)) {
      if (dataset.implicit) return 'OW';
      return this.greaterThan8(dataset, TAG_WAVEFORM_BITS_ALLOCATED, 'WaveformBitsAllocated') ? 'OW' : 'OB';
    }
    if (tag === TAG_LUT_DATA) {
      const descriptor = this.pyValue(dataset, TAG_LUT_DESCRIPTOR);
      if (!Array.isArray(descriptor)) throw new ElementError('Failed to resolve ambiguous VR for LUT Data: no usable LUT Descriptor');
      return descriptor[0] === 1 ? 'US' : 'OW';
    }
    if (OVERLAY_DATA_TAGS.has(tag)) return 'OW';
    return vr;
  }

  private greaterThan8(dataset: Dataset, tag: number, keyword: string): boolean {
    const value = this.pyValue(dataset, tag);
    if (typeof value !== 'number') throw new ElementError(`Failed to resolve ambiguous VR: ${keyword} is ${value === undefined ? 'missing' : 'not a number'}`);
    return value > 8;
  }

  /** The Pixel Representation deciding US or SS: the data set's own, the propagated one, else a guess. */
  private pixelRepresentation(dataset: Dataset): unknown {
    const own = this.pyValue(dataset, TAG_PIXEL_REPRESENTATION);
    if (own !== undefined && own !== null) return own;
    if (dataset.pixelRep !== undefined) return dataset.pixelRep;
    // No pixel data and no representation: unsigned. Pixel data without one fails (pydicom reads
    // ds.PixelRepresentation); an empty one counts as signed (None == 0 is false).
    const hasOwn = dataset.elements.has(TAG_PIXEL_REPRESENTATION);
    if (!hasOwn && !dataset.elements.has(TAG_PIXEL_DATA)) return 0;
    if (!hasOwn) throw new ElementError('Failed to resolve ambiguous VR: PixelRepresentation is missing');
    return 1;
  }
}
