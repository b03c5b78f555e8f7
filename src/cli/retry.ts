import type { Command } from 'commander';
import { readJsonFile, readSpecFile, runCommand, specFormat, warnInvalidItem } from '../spec/cli-support.js';
import type { SpecFormat } from '../spec/model.js';
import { groupErrors, readUploadJob, RetryPlan, type UploadJob } from '../spec/retry.js';
import { SpecWriter } from '../spec/writer.js';

interface RetryCommandOptions {
  spec: string;
  output?: string;
  format?: SpecFormat;
}

export function register(program: Command): void {
  program
    .command('retry')
    .description('summarise an upload job (UploadLongPollingState) and write a spec of just the items that failed')
    .argument('<job>', 'UploadLongPollingState JSON (camelCase or snake_case)')
    .requiredOption('--spec <file>', 'the spec the job uploaded')
    .option('-o, --output <file>', 'spec of the failed items (default stdout)')
    .option('--format <form>', 'form of the output spec (default: the input form)', specFormat)
    .action((job: string, options: RetryCommandOptions) => runCommand(() => retryCommand(job, options)));
}

async function retryCommand(jobFile: string, options: RetryCommandOptions): Promise<number> {
  const job = readUploadJob(await readJsonFile(jobFile, 'upload job'));
  const spec = await readSpecFile(options.spec);
  const plan = new RetryPlan(job);
  const writer = await SpecWriter.open({
    format: options.format ?? spec.format,
    flags: spec.flags,
    onInvalidItem: warnInvalidItem('retry'),
    ...(options.output !== undefined ? { output: options.output } : {}),
  });
  try {
    for (const entry of plan.select(spec.entries.map((located) => located.entry))) await writer.add(entry);
  } catch (error) {
    await writer.discard();
    throw error;
  }
  const written = await writer.finish();
  // With the spec on stdout, the summary goes to stderr so the two never mix.
  const out = options.output === undefined ? process.stderr : process.stdout;
  out.write(jobSummary(job));
  const unmatched = plan.unmatched();
  out.write(`retry: ${written.items} failed items (${written.urls} URLs) -> ${written.files.join(', ')}\n`);
  if (unmatched.length > 0) {
    out.write(`retry: ${unmatched.length} failed URLs are not in ${options.spec}:\n${unmatched.map((url) => `  ${url}\n`).join('')}`);
  }
  return unmatched.length > 0 ? 1 : 0;
}

function jobSummary(job: UploadJob): string {
  const lines = [
    `status ${job.status}${job.fileName ? ` (${job.fileName})` : ''}`,
    `units: ${job.done} done, ${job.pending} pending, ${job.errored} error, ${job.cancelled} cancelled`,
  ];
  if (job.errored > job.unitErrors.length) lines.push(`note: ${job.errored} units failed but the job lists ${job.unitErrors.length} unit errors`);
  for (const message of job.errors) lines.push(`job error: ${message}`);
  for (const group of groupErrors(job)) {
    const example = group.urls[0] ? ` (e.g. ${group.urls[0]})` : '';
    lines.push(`${group.count} x ${group.message}${example}`);
  }
  return `${lines.join('\n')}\n`;
}
