#!/usr/bin/env node
import { Command } from 'commander';
import { register as registerProbe } from './probe.js';
import { register as registerSchema } from './schema.js';
import { register as registerValidate } from './validate.js';

const program = new Command('encord-media')
  .description('Exact Encord metadata and upload specs from media files, streams and URLs')
  .version('0.1.0');

for (const register of [registerProbe, registerValidate, registerSchema]) register(program);

await program.parseAsync(process.argv);
