import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { probeImage } from '../src/probes/image.js';
import { probeText } from '../src/probes/text.js';
import type { Probe } from '../src/probes/types.js';
import { FileSource } from '../src/sources/file.js';
import { corpusDir, hasCorpus } from './helpers/cli.js';

interface Expected {
  file: string;
  modality: string;
  status: 'ok' | 'error' | 'unsure';
  metadata?: Record<string, unknown>;
  warnings?: string[];
}

const PROBES = { image: probeImage, text: probeText } as Record<string, Probe<'image'> | Probe<'text'>>;

const expected: Expected[] = hasCorpus
  ? readFileSync(join(corpusDir, 'expected.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Expected)
      .filter((entry) => entry.modality in PROBES && entry.status !== 'unsure')
  : [];

/** Warnings the detector adds (extension checks) rather than the probes. */
const DETECTOR_WARNINGS = new Set(['extension_mismatch']);

async function outcome(entry: Expected) {
  const source = new FileSource(join(corpusDir, entry.file));
  const detection = { modality: entry.modality as 'image', mime: '', format: '', warnings: [] };
  try {
    const result = await PROBES[entry.modality]!(source, { options: {}, detection });
    return { metadata: result.metadata, warnings: result.warnings.map((w) => w.code).sort() };
  } catch (error) {
    return { error: (error as { code: string }).code };
  } finally {
    await source.close();
  }
}

describe.skipIf(!hasCorpus)('image and text probes on the shared corpus', () => {
  it.each(expected.map((entry) => [entry.file, entry] as const))('%s', async (_, entry) => {
    const got = await outcome(entry);
    if (entry.status === 'error') {
      expect(got).toHaveProperty('error');
    } else {
      const warnings = (entry.warnings ?? []).filter((code) => !DETECTOR_WARNINGS.has(code)).sort();
      expect(got).toEqual({ metadata: entry.metadata, warnings });
    }
  });
});
