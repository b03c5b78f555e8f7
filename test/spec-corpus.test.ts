import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { validateFile } from '../src/validate/index.js';
import { corpusDir, hasCorpus, runCli } from './helpers/cli.js';

/** `spec` over the whole shared corpus: a spec that validates, and every file in it or reported. */

function countFiles(dir: string): number {
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => !entry.name.startsWith('.'))
    .reduce((count, entry) => count + (entry.isDirectory() ? countFiles(join(dir, entry.name)) : 1), 0);
}

describe.skipIf(!hasCorpus)('spec over the corpus', () => {
  it('validates, and inputs = in spec + errors', async () => {
    const scratch = mkdtempSync(join(tmpdir(), 'encord-media-spec-corpus-'));
    const out = join(scratch, 'spec.json');
    const errorsFile = join(scratch, 'errors.jsonl');
    const run = await runCli(['spec', corpusDir, '--base-url', `s3://corpus/=${corpusDir}`, '-o', out, '--errors', errorsFile]);
    expect(run.code, run.stderr).toBe(0);
    const [, inputs, inSpec, errors, urls] = (/(\d+) inputs = (\d+) in spec \+ (\d+) errors.*?(\d+) URLs/.exec(run.stderr) ?? []).map(Number);
    expect(inputs).toBe(countFiles(corpusDir));
    expect(inSpec + errors).toBe(inputs);
    expect(urls).toBe(inSpec);
    expect(readFileSync(errorsFile, 'utf8').trim().split('\n')).toHaveLength(errors as number);
    const validation = await validateFile(out, { as: 'upload-file' });
    expect(validation.findings.filter((finding) => finding.severity === 'error')).toEqual([]);
  }, 600_000);
});
