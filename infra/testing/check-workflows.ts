/**
 * Reads `[{ name, content }]` as JSON on stdin and prints `{ [name]: errors[] }` as JSON on
 * stdout (see workflow-schema.ts for why this runs in its own process).
 */
import { text } from 'node:stream/consumers';
import { workflowErrors, type WorkflowFile } from './workflow-schema.js';

const files = JSON.parse(await text(process.stdin)) as WorkflowFile[];
const result: Record<string, string[]> = {};
for (const file of files) result[file.name] = await workflowErrors(file);
process.stdout.write(JSON.stringify(result));
