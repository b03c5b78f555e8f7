import { MAX_TITLE_LENGTH } from '../schema/fields.js';

/**
 * Titles unique within a spec: the first `scan.png` keeps its name, later ones become
 * `scan (2).png`, `scan (3).png`. Titles longer than Encord's 300 characters are shortened in
 * the stem, keeping the extension.
 */
export class UniqueTitles {
  private readonly taken = new Set<string>();
  /** Next suffix to try per wanted title, so many equal names stay linear. */
  private readonly next = new Map<string, number>();

  claim(wanted: string): string {
    let title = fit(wanted, '');
    let n = this.next.get(wanted) ?? 2;
    while (this.taken.has(title)) title = fit(wanted, ` (${n++})`);
    this.next.set(wanted, n);
    this.taken.add(title);
    return title;
  }
}

function fit(title: string, suffix: string): string {
  const dot = title.lastIndexOf('.');
  const hasExtension = dot > 0 && title.length - dot <= 10;
  const stem = hasExtension ? title.slice(0, dot) : title;
  const extension = hasExtension ? title.slice(dot) : '';
  const room = MAX_TITLE_LENGTH - suffix.length - extension.length;
  // Lengths count UTF-16 units, as the schema does; a cut never leaves half a surrogate pair.
  const cut = stem.slice(0, Math.max(room, 1)).replace(/[\uD800-\uDBFF]$/, '');
  return `${cut}${suffix}${extension}`;
}

/** The last path segment of an object URL or path (percent-escapes decoded for http URLs). */
export function fileNameOf(url: string): string {
  const path = /^https?:/i.test(url) ? url.split(/[?#]/)[0] ?? url : url;
  const name = path.replace(/[\\/]+$/, '').split(/[\\/]/).pop() ?? url;
  if (!/^https?:/i.test(url)) return name || url;
  try {
    return decodeURIComponent(name) || url;
  } catch {
    return name || url;
  }
}
