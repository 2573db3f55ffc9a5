// The `run:` steps of a GitHub Actions workflow file, so a test runs a generated workflow's steps as
// written instead of a copy of them.

/** The shell of each `run:` step of the file's job, in order: a one-liner, or a `run: |` block dedented. */
export function workflowRunSteps(yaml: string): string[] {
  const lines = yaml.split('\n');
  const steps: string[] = [];
  for (let at = 0; at < lines.length; at++) {
    const match = /^(\s*)(?:- )?run: (.*)$/.exec(lines[at]);
    if (!match) continue;
    if (match[2].trim() !== '|') {
      steps.push(match[2]);
      continue;
    }
    const block: string[] = [];
    while (at + 1 < lines.length && (lines[at + 1].trim() === '' || lines[at + 1].search(/\S/) > match[1].length)) block.push(lines[++at]);
    const indent = Math.min(...block.filter((line) => line.trim()).map((line) => line.search(/\S/)));
    steps.push(block.map((line) => line.slice(indent)).join('\n'));
  }
  return steps;
}
