#!/usr/bin/env node
import { Command } from 'commander';
import { register as registerProbe } from './probe.js';
import { register as registerRetry } from './retry.js';
import { register as registerSchema } from './schema.js';
import { register as registerSpec } from './spec.js';
import { register as registerValidate } from './validate.js';
import { register as registerVerify } from './verify.js';

// A closed pipe (`encord-media probe ... | head`) ends the run quietly, as Unix tools do.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

const program = new Command('encord-media')
  .description('Exact Encord metadata and upload specs from media files, streams and URLs')
  .version('0.1.0');

for (const register of [registerProbe, registerValidate, registerSchema, registerSpec, registerVerify, registerRetry]) register(program);

await program.parseAsync(process.argv);
