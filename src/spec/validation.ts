import { validateDocument } from '../validate/index.js';
import type { SpecFormat } from './model.js';

/**
 * Every item is validated as a one-item document of its form before it is written, so a spec
 * of any size is checked without holding it; what spans items (unique URLs and titles, the
 * per-file limits) the builder and writer guarantee themselves. An error here means this
 * library wrote something Encord rejects: a bug, so it throws instead of writing the file.
 */
export function assertValidItem(listKey: string, item: Record<string, unknown>, format: SpecFormat): void {
  const validation = validateDocument({ [listKey]: [item] }, { as: format });
  const errors = validation.findings.filter((finding) => finding.severity === 'error');
  if (errors.length === 0) return;
  const details = errors.map((finding) => `${finding.pointer} ${finding.code}: ${finding.message}`).join('; ');
  throw new Error(`encord-media wrote an invalid ${format} item (a bug, please report it): ${details}\n${JSON.stringify(item)}`);
}
