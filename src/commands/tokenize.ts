import { UserError } from '../errors.js';

const MAX_TEXT = 2000;

/**
 * Splits command text into words, honouring "double" and 'single' quotes so a description can hold
 * spaces. No expansion of any kind happens: the words never reach a shell.
 */
export function tokenize(text: string): string[] {
  if (text.length > MAX_TEXT) throw new UserError(`command is ${text.length} characters long; the limit is ${MAX_TEXT}`);
  const words: string[] = [];
  const pattern = /"([^"]*)"|'([^']*)'|(\S+)/g;
  const stray = /["']/;
  for (const match of text.matchAll(pattern)) {
    const word = match[1] ?? match[2] ?? match[3] ?? '';
    if (match[3] !== undefined && stray.test(word)) {
      throw new UserError(`unbalanced quote in "${word.slice(0, 40)}"; close the quote or remove it`);
    }
    words.push(word);
  }
  return words;
}
