/**
 * GitHub Actions workflow validation with GitHub's own parser and schema
 * (`@actions/workflow-parser`): the schema check and the semantic one (job references,
 * concurrency, expressions) that GitHub runs when a workflow file is pushed.
 *
 * The parser imports its JSON schema without an import attribute, which Node.js refuses and tsx
 * allows, so callers under other loaders (vitest) run `check-workflows.ts` through tsx instead.
 */
import {
  NoOperationTraceWriter,
  convertWorkflowTemplate,
  parseWorkflow,
} from '@actions/workflow-parser';

/** A workflow file to check. */
export interface WorkflowFile {
  readonly name: string;
  readonly content: string;
}

/** The errors GitHub would report for `file`; empty when it is valid. */
export async function workflowErrors(file: WorkflowFile): Promise<string[]> {
  const parsed = parseWorkflow(file, new NoOperationTraceWriter());
  const errors = parsed.context.errors.getErrors().map((e) => e.message);
  if (parsed.value !== undefined) {
    const template = await convertWorkflowTemplate(parsed.context, parsed.value);
    errors.push(...(template.errors ?? []).map((e) => e.Message));
  }
  return [...new Set(errors)];
}
