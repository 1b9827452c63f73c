/**
 * Reading a secret value without it ever touching argv: from a pipe (all of stdin) or,
 * on a terminal, from a hidden prompt (no echo, raw mode, Enter ends the value).
 */
import type { Readable, Writable } from 'node:stream';
import { normalizeValue } from './keys.js';

export interface TtyInput extends Readable {
  isTTY?: boolean;
  setRawMode?(mode: boolean): unknown;
}

export class PromptCancelled extends Error {
  override readonly name = 'PromptCancelled';
}

/** Reads all of `stdin` (a pipe or a file): the value, normalised (see normalizeValue). */
export async function readPipedValue(stdin: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return normalizeValue(Buffer.concat(chunks).toString('utf8'));
}

/**
 * Prompts on `output` (stderr) and reads one line from the terminal `input` with echo off.
 * Backspace edits, Ctrl-C / Ctrl-D on an empty line cancel (PromptCancelled).
 */
export function promptHidden(input: TtyInput, output: Writable, question: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let value = '';
    const wasRaw = (input as { isRaw?: boolean }).isRaw ?? false;
    input.setRawMode?.(true);
    input.setEncoding('utf8');
    output.write(question);
    function finish(error?: Error): void {
      input.off('data', onData);
      input.setRawMode?.(wasRaw);
      input.pause();
      output.write('\n');
      if (error) reject(error);
      else resolve(value);
    }
    function onData(text: string): void {
      for (const ch of text) {
        if (ch === '\r' || ch === '\n') return finish();
        if (ch === '\u0003') return finish(new PromptCancelled('cancelled'));
        if (ch === '\u0004') {
          if (value === '') return finish(new PromptCancelled('cancelled'));
          return finish();
        }
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else if (ch === '\u0015') value = ''; // Ctrl-U
        else if (ch >= ' ') value += ch;
      }
    }
    input.on('data', onData);
    input.resume();
  });
}
