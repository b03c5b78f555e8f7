import type { Modality } from '../probes/types.js';
import { validateDocument, type Finding } from '../validate/index.js';
import type { SpecFormat } from './model.js';

/**
 * Errors the validator finds in a probe's metadata (NIfTI has none to check). A probe and the
 * validator should agree; where they do not, the file cannot go into a spec that validates, so
 * the builder reports it rather than writing it.
 */
export function metadataErrors(modality: Modality, metadata: unknown): Finding[] {
  if (modality === 'nifti') return [];
  return validateDocument(metadata, { as: modality }).findings.filter((finding) => finding.severity === 'error');
}

/**
 * Every item is validated as a one-item document of its form before it is written, so a spec
 * of any size is checked without holding it; what spans items (unique URLs and titles, the
 * per-file limits) the builder and writer guarantee themselves.
 */
export function itemErrors(listKey: string, item: Record<string, unknown>, format: SpecFormat): Finding[] {
  const validation = validateDocument({ [listKey]: [item] }, { as: format });
  return validation.findings.filter((finding) => finding.severity === 'error');
}

/** For items this library made: an error means it wrote something Encord rejects, a bug. */
export function failOnInvalidItem(errors: Finding[], item: Record<string, unknown>, format: SpecFormat): never {
  const details = errors.map((finding) => `${finding.pointer} ${finding.code}: ${finding.message}`).join('; ');
  throw new Error(`encord-media wrote an invalid ${format} item (a bug, please report it): ${details}\n${JSON.stringify(item)}`);
}
