import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { corpusDir, hasCorpus, runCli, runNode } from './helpers/cli.js';

/**
 * The corpus gate: `probe --jsonl` over each modality folder, scored by the corpus's own
 * score.mjs. Any WRONG value fails; a typed error where a value was possible is tolerated only
 * while the modality scores at least 97%.
 */
const MODALITIES = ['image', 'text', 'pdf', 'video', 'audio', 'dicom'];

describe.skipIf(!hasCorpus)('corpus conformance', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'encord-media-conformance-'));

  it.each(MODALITIES)('%s: zero WRONG, at least 97 percent correct', async (modality) => {
    const probed = await runCli(['probe', '--jsonl', join(corpusDir, modality)]);
    const lines = probed.stdout.trim().split('\n');
    expect(lines.every((line) => JSON.parse(line).file)).toBe(true);
    const results = join(scratch, `${modality}.jsonl`);
    writeFileSync(results, probed.stdout);
    const scored = await runNode([join(corpusDir, 'score.mjs'), results, '--only', modality, '--min', '97']);
    const summary = scored.stdout.split('\n').find((line) => line.startsWith(modality)) ?? '';
    const wrong = Number(summary.trim().split(/\s+/)[3]);
    expect(scored.stdout).toContain('conformance:');
    expect(wrong, scored.stdout).toBe(0);
    expect(scored.code, scored.stdout).toBe(0);
  }, 600_000);
});
