import { PRIVATE_VRS, PUBLIC_VRS, REPEATER_VRS } from './dictionary.js';

/** 'TAGVR,TAGVR,...' -> [[tag text, vr], ...] */
function entries(list: string): Array<[string, string]> {
  return list.split(',').map((entry) => [entry.slice(0, 8), entry.slice(8)]);
}

let publicVrs: Map<number, string> | undefined;
let repeaters: Array<{ value: number; mask: number; vr: string }> | undefined;
let privateVrs: Map<string, Map<string, string>> | undefined;

function loadPublic(): Map<number, string> {
  publicVrs ??= new Map(entries(PUBLIC_VRS).map(([tag, vr]) => [parseInt(tag, 16), vr]));
  return publicVrs;
}

/** pydicom's `mask_match`: 'x' digits are "don't care"; the first mask that matches wins. */
function loadRepeaters(): Array<{ value: number; mask: number; vr: string }> {
  repeaters ??= entries(REPEATER_VRS).map(([tag, vr]) => ({
    value: parseInt(tag.replace(/x/g, '0'), 16),
    mask: parseInt([...tag].map((c) => (c === 'x' ? '0' : 'F')).join(''), 16),
    vr,
  }));
  return repeaters;
}

/**
 * The VR pydicom's `dictionary_VR` gives a public tag (repeating groups such as 50xx/60xx
 * included), or undefined when the tag is not in the DICOM dictionary.
 */
export function dictionaryVr(tag: number): string | undefined {
  const vr = loadPublic().get(tag);
  if (vr !== undefined) return vr;
  if ((tag >>> 16) % 2 === 1) return undefined;
  return loadRepeaters().find((r) => ((tag ^ r.value) & r.mask) >>> 0 === 0)?.vr;
}

/** pydicom's `private_dictionary_VR`: exact key, then 'GGGGxxEE', then 'GGxxxxEE'. */
export function privateDictionaryVr(tag: number, creator: string): string | undefined {
  privateVrs ??= new Map(PRIVATE_VRS.map(([name, list]) => [name, new Map(entries(list))]));
  const table = privateVrs.get(creator);
  if (!table) return undefined;
  const hex = hex8(tag);
  const keys = [hex, `${hex.slice(0, 4)}xx${hex.slice(6)}`, `${hex.slice(0, 2)}xxxx${hex.slice(6)}`];
  for (const key of keys) {
    const vr = table.get(key);
    if (vr !== undefined) return vr;
  }
  return undefined;
}

export function hex8(tag: number): string {
  return (tag >>> 0).toString(16).toUpperCase().padStart(8, '0');
}
