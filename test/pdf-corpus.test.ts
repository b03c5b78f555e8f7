import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ProbeError } from '../src/errors.js';
import { probePdf } from '../src/probes/pdf.js';
import { FileSource } from '../src/sources/file.js';

// The shared corpus (read in place, never copied): every PDF against its ground truth, scored
// as corpus/score.mjs scores it. A value where an error is expected, or a wrong count, fails.
const corpus = '/work/shared/corpus';
const context = { options: {}, detection: { modality: 'pdf' as const, mime: 'application/pdf', format: 'pdf', warnings: [] } };

interface Expected {
  file: string;
  status: 'ok' | 'error' | 'unsure';
  metadata?: { file_size: number; num_pages: number };
  note?: string;
}

describe.skipIf(!existsSync(join(corpus, 'pdf')))('PDF corpus', () => {
  it('has no wrong page count and scores at least 97%', async () => {
    const expected = readFileSync(join(corpus, 'expected.jsonl'), 'utf8')
      .split('\n')
      .filter((line) => line.includes('"modality": "pdf"'))
      .map((line) => JSON.parse(line) as Expected)
      .filter((entry) => entry.status !== 'unsure');
    const wrong: string[] = [];
    let good = 0;
    for (const entry of expected) {
      const source = new FileSource(join(corpus, entry.file));
      const outcome = await probePdf(source, context).then(
        (result) => result.metadata,
        (error: unknown) => {
          if (!(error instanceof ProbeError)) throw error;
          return error;
        },
      );
      await source.close();
      const truePages = /true_pages=(\d+)/.exec(entry.note ?? '')?.[1];
      if (outcome instanceof ProbeError) {
        if (entry.status === 'error') good++;
      } else if (entry.status === 'error' ? Number(truePages) === outcome.num_pages : JSON.stringify(outcome) === JSON.stringify(entry.metadata)) {
        good++;
      } else {
        wrong.push(`${entry.file}: got ${JSON.stringify(outcome)}, expected ${JSON.stringify(entry.metadata ?? entry.status)}`);
      }
    }
    expect(wrong).toEqual([]);
    expect(good / expected.length).toBeGreaterThanOrEqual(0.97);
  });
});
