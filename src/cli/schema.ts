import type { Command } from 'commander';
import { z } from 'zod';
import { SCHEMA_NAMES, schemaByName, toJsonSchema } from '../schema/registry.js';

/** `schema NAME` prints its JSON Schema (draft 2020-12); without NAME, every name with its description. */
export function register(program: Command): void {
  program
    .command('schema')
    .description('print the JSON Schema of an Encord object; without NAME, list the names')
    .argument('[name]', 'schema name, e.g. JsonUploadFile, DataUploadItems, CustomerProvidedVideoMetadata')
    .action((name: string | undefined) => {
      process.exitCode = schemaCommand(name);
    });
}

function schemaCommand(name: string | undefined): number {
  if (name === undefined) {
    const width = Math.max(...SCHEMA_NAMES.map((entry) => entry.length));
    const lines = SCHEMA_NAMES.map((entry) => {
      const description = z.globalRegistry.get(schemaByName(entry) as z.ZodType)?.description ?? '';
      return `${entry.padEnd(width)}  ${description}\n`;
    });
    process.stdout.write(lines.join(''));
    return 0;
  }
  const schema = schemaByName(name);
  if (!schema) {
    process.stderr.write(`encord-media schema: unknown name "${name}"; run \`encord-media schema\` for the list\n`);
    return 2;
  }
  process.stdout.write(`${JSON.stringify(toJsonSchema(schema), null, 2)}\n`);
  return 0;
}
