import { readFileSync } from 'node:fs';

/** A fenced code block of a Markdown file, with the `##` heading it stands under. */
export interface CodeBlock {
  heading: string;
  lang: string;
  code: string;
}

/** Every fenced block of `file`, in order: tests run the README's examples from here, never from a copy. */
export function codeBlocks(file: string): CodeBlock[] {
  const blocks: CodeBlock[] = [];
  let heading = '';
  let open: CodeBlock | undefined;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (open) {
      if (line.startsWith('```')) {
        blocks.push(open);
        open = undefined;
      } else open.code += `${line}\n`;
    } else if (line.startsWith('## ')) heading = line.slice(3).trim();
    else if (line.startsWith('```')) open = { heading, lang: line.slice(3).trim(), code: '' };
  }
  return blocks;
}

/** The one `ts` block under `heading`; throws when there is none or more than one. */
export function exampleUnder(file: string, heading: string): string {
  const found = codeBlocks(file).filter((b) => b.heading === heading && b.lang === 'ts');
  if (found.length !== 1) throw new Error(`${file} has ${found.length} ts blocks under "## ${heading}"`);
  return found[0]!.code;
}

/** Replaces `from` in `code` (it must occur), so a test notices when the README changed under it. */
export function substitute(code: string, from: string, to: string): string {
  if (!code.includes(from)) throw new Error(`the example no longer contains ${from}`);
  return code.split(from).join(to);
}
