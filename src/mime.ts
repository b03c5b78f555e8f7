/**
 * The mime-db lookups shared by detection and the text probe: which types an extension is
 * registered for, and which types are text.
 */
import mimeDb from 'mime-db';

type MimeEntry = (typeof mimeDb)[string];

/**
 * Application types that are text although mime-db gives them neither a charset nor a
 * +json/+xml suffix: scripts, subtitles, configuration and query languages, playlists, mailboxes.
 */
const TEXT_APPLICATION_TYPES = new Set([
  'application/json',
  'application/xml',
  'application/javascript',
  'application/ecmascript',
  'application/x-subrip',
  'application/x-sh',
  'application/x-csh',
  'application/toml',
  'application/sql',
  'application/x-sql',
  'application/x-tex',
  'application/x-latex',
  'application/x-perl',
  'application/x-httpd-php',
  'application/vnd.apple.mpegurl',
  'application/mbox',
]);
/** Top-level types that are never text, whatever their suffix (image/svg+xml is an image). */
const MEDIA_TOP_LEVELS = new Set(['image', 'audio', 'video', 'font', 'model']);

export function isTextType(type: string, entry: MimeEntry | undefined = mimeDb[type]): boolean {
  const top = type.split('/')[0]!;
  if (MEDIA_TOP_LEVELS.has(top)) return false;
  return top === 'text' || /\+(json|xml)$/.test(type) || TEXT_APPLICATION_TYPES.has(type) || entry?.charset !== undefined;
}

export interface ExtensionTypes {
  /** The type mime-db registers first for the extension. */
  preferred: string;
  /** The first text type registered for it, if any. */
  text?: string;
  /** Every type registered for it, in rank order. */
  all: string[];
}

let index: Map<string, ExtensionTypes> | undefined;

/**
 * What mime-db registers for an extension. Where several types claim one extension, IANA
 * registrations come first, then Apache's, nginx's and the rest, keeping the database's order
 * within a rank.
 */
export function typesForExtension(extension: string): ExtensionTypes | undefined {
  index ??= buildIndex();
  return index.get(extension.toLowerCase());
}

function buildIndex(): Map<string, ExtensionTypes> {
  const built = new Map<string, ExtensionTypes>();
  const ranked = Object.entries(mimeDb).sort(([, a], [, b]) => sourceRank(a.source) - sourceRank(b.source));
  for (const [type, entry] of ranked) {
    const text = isTextType(type, entry);
    for (const extension of entry.extensions ?? []) {
      const known = built.get(extension);
      if (!known) built.set(extension, { preferred: type, text: text ? type : undefined, all: [type] });
      else {
        known.all.push(type);
        if (text && !known.text) known.text = type;
      }
    }
  }
  return built;
}

function sourceRank(source: MimeEntry['source']): number {
  return source === 'iana' ? 0 : source === 'apache' ? 1 : source === 'nginx' ? 2 : 3;
}
