// Validates a GitHub Actions workflow (on stdin) with GitHub's own parser, @actions/workflow-parser, and
// prints the errors as a JSON array. A separate process run under tsx: the parser imports its schema JSON
// without an import attribute, which Node's loader (and so vitest's) refuses and tsx's accepts.
import { convertWorkflowTemplate, NoOperationTraceWriter, parseWorkflow } from '@actions/workflow-parser';

let content = '';
for await (const chunk of process.stdin) content += chunk;
const parsed = parseWorkflow(
  { name: process.argv[2] ?? 'workflow.yml', content },
  new NoOperationTraceWriter(),
);
const template = await convertWorkflowTemplate(parsed.context, parsed.value);
const errors = [
  ...parsed.context.errors.getErrors().map((e) => e.message),
  ...(template.errors ?? []).map((e) => e.Message),
];
process.stdout.write(`${JSON.stringify([...new Set(errors)])}\n`);
