import { LimitError, ProbeError } from '../../errors.js';
import type { PdfFile } from './objects.js';
import { PdfDict, PdfDoubt, PdfRef, type PdfValue } from './syntax.js';

const MAX_TREE_DEPTH = 256;
const MAX_PAGES = 10_000_000;
const INT32_MAX = 2 ** 31 - 1;

/** What a page count can be decided from. */
export interface PageTreeFacts {
  /** Pages found by walking /Kids, the way pdf.js and qpdf list them. */
  leaves: number;
  /** Why the walk is not clean (a loop, a kid that is not a dictionary, ...), if it is not. */
  irregularity?: string;
  /**
   * The number pdfinfo prints, when poppler can read one: the linearization /N, else the root's
   * /Count (or 1 for a root that is itself a /Page). Undefined where pdfinfo fails.
   */
  popplerCount?: number;
}

/**
 * The contract: the pages a viewer shows, as pdfinfo prints them. Where pdfinfo reads a number
 * it must agree with a clean walk of the tree (a /Count that disagrees with the tree is wrong,
 * yet pdfinfo prints it: neither is certain); a tree too broken to walk cleanly (a loop, a kid
 * that is not a page) leaves pdfinfo's number. Where pdfinfo fails, a clean walk decides, as
 * qpdf's recovered page list does.
 */
export function decidePageCount(facts: PageTreeFacts): number {
  if (facts.popplerCount !== undefined) {
    if (facts.popplerCount === facts.leaves || facts.irregularity) return facts.popplerCount;
    throw new ProbeError('corrupt_file', `the page tree holds ${facts.leaves} pages but the document claims ${facts.popplerCount}`);
  }
  if (facts.irregularity) throw new ProbeError('corrupt_file', `no reliable page count: ${facts.irregularity}, and the root /Count is unusable`);
  if (facts.leaves === 0) throw new ProbeError('no_pages', 'the document has no pages');
  return facts.leaves;
}

type NodeKind = 'pages' | 'page';

/** Walks the page tree from the catalog's /Pages. */
export async function readPageTree(file: PdfFile, catalog: PdfDict, linearizedPages: number | undefined): Promise<PageTreeFacts> {
  const rootEntry = catalog.get('Pages');
  const root = await file.resolve(rootEntry);
  if (!(root instanceof PdfDict)) return { leaves: 0, irregularity: 'the catalog has no page tree', popplerCount: linearizedPages };
  const popplerCount = linearizedPages ?? (await rootCount(file, root, rootEntry));
  const facts: PageTreeFacts = { leaves: 0, popplerCount };
  if (!root.has('Kids')) {
    // qpdf lists no pages under a root without /Kids; a root that is itself a /Page is shown as one page.
    facts.leaves = root.nameOf('Type') === 'Page' ? 1 : 0;
    return facts;
  }
  await walk(file, root, rootEntry, facts);
  return facts;
}

/**
 * poppler's Catalog::getNumPages: /Count truncated to int, valid from 1 and capped at the
 * number of objects; a root that is a /Page counts as one.
 */
async function rootCount(file: PdfFile, root: PdfDict, rootEntry: PdfValue | undefined): Promise<number | undefined> {
  const count = await file.resolve(root.get('Count'));
  if (typeof count === 'number') {
    const pages = Math.trunc(count);
    return pages >= 1 && pages <= INT32_MAX ? Math.min(pages, file.objectCount) : undefined;
  }
  return root.nameOf('Type') === 'Page' && rootEntry instanceof PdfRef ? 1 : undefined;
}

async function walk(file: PdfFile, root: PdfDict, rootEntry: PdfValue | undefined, facts: PageTreeFacts): Promise<void> {
  const irregular = (why: string): void => {
    facts.irregularity ??= why;
  };
  const visitedNodes = new Set<string>();
  const seenPages = new Set<string>();
  if (rootEntry instanceof PdfRef) visitedNodes.add(rootEntry.key);
  const stack: Array<{ node: PdfDict; depth: number }> = [{ node: root, depth: 0 }];
  for (let item = stack.pop(); item; item = stack.pop()) {
    const kids = await file.resolve(item.node.get('Kids'));
    if (!Array.isArray(kids)) {
      irregular('a /Kids entry is not an array');
      continue;
    }
    for (const kidEntry of kids) {
      // A direct kid dictionary is read as a node all the same (pdf.js reads it, qpdf makes it indirect).
      const ref = kidEntry instanceof PdfRef ? kidEntry : undefined;
      if (ref && visitedNodes.has(ref.key)) {
        irregular('the page tree has a loop');
        continue;
      }
      const kid = await file.resolve(kidEntry);
      if (!(kid instanceof PdfDict)) {
        irregular('a kid is not a dictionary');
        continue;
      }
      const kind = classify(kid, irregular);
      if (kind === 'pages') {
        if (item.depth + 1 > MAX_TREE_DEPTH) throw new PdfDoubt('page tree too deep');
        if (ref) visitedNodes.add(ref.key);
        stack.push({ node: kid, depth: item.depth + 1 });
        continue;
      }
      if (++facts.leaves > MAX_PAGES) throw new LimitError('limit_exceeded', `more than ${MAX_PAGES} pages`);
      if (ref && seenPages.has(ref.key)) irregular('a page is listed twice');
      if (ref) seenPages.add(ref.key);
    }
  }
}

/**
 * pdf.js takes a kid for a page when it is /Type /Page or has no /Kids; qpdf when it has no
 * /Kids. Where the two differ, or the node is odd, the walk is irregular.
 */
function classify(kid: PdfDict, irregular: (why: string) => void): NodeKind {
  if (['Type', 'Kids', 'Count'].some((key) => kid.duplicateKeys.has(key))) irregular('a page tree node repeats a key');
  const type = kid.get('Type');
  const typeName = kid.nameOf('Type');
  const hasKids = kid.has('Kids');
  if (type !== undefined && typeName === undefined) irregular('a page tree node has a /Type that is not a name');
  if (typeName === 'Page') {
    if (hasKids) irregular('a /Page has /Kids');
    return 'page';
  }
  if (typeName !== undefined && typeName !== 'Pages') irregular(`a kid has /Type /${typeName}`);
  if (typeName === 'Pages' && !hasKids) irregular('a /Pages node has no /Kids');
  return hasKids ? 'pages' : 'page';
}
