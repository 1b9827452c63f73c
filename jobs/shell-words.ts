/**
 * Just enough of the POSIX shell grammar to find the commands a job's script runs and
 * their arguments: quoting, `$VAR`/`${VAR}`/`$(...)`, operators, redirections, comments,
 * leading assignments and reserved words. It reads the operator's committed job scripts
 * for the checker; it never builds or runs a shell string.
 */

export interface Word {
  /** Source text of the word. */
  raw: string;
  /** The word with quotes removed; expansions are kept as written (`$BRANCH`). */
  value: string;
  /** Names of variables expanded outside double quotes (subject to word splitting). */
  unquotedExpansions: string[];
}

export interface SimpleCommand {
  words: Word[];
  /** 1-based line of the command's first word. */
  line: number;
}

const RESERVED = new Set(['if', 'then', 'else', 'elif', 'fi', 'do', 'done', 'while', 'until', 'for', 'case', 'esac', '!', '{', '}', 'time']);

/** Index just after the `)` that closes the `$(` ending at `start`. */
function closeParen(text: string, start: number): number {
  let depth = 1;
  let i = start;
  while (i < text.length && depth > 0) {
    const c = text[i];
    if (c === '\\') i += 2;
    else if (c === "'") i = text.indexOf("'", i + 1) + 1 || text.length;
    else if (c === '"') {
      i += 1;
      while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
      i += 1;
    } else {
      if (c === '(') depth += 1;
      if (c === ')') depth -= 1;
      i += 1;
    }
  }
  return i;
}

/** Splits a script into its simple commands (also those inside `$(...)`). */
export function parseCommands(script: string): SimpleCommand[] {
  const commands: SimpleCommand[] = [];
  let words: Word[] = [];
  let wordLine = 1;
  let line = 1;
  let skipNext = false; // the word after a redirection operator is a file name

  const endCommand = () => {
    let start = 0;
    while (start < words.length) {
      const w = words[start]!;
      if (RESERVED.has(w.raw) || /^[A-Za-z_][A-Za-z0-9_]*=/.test(w.raw)) start += 1;
      else break;
    }
    if (start < words.length) commands.push({ words: words.slice(start), line: wordLine });
    words = [];
  };

  let i = 0;
  while (i < script.length) {
    const c = script[i]!;
    if (c === '\n') {
      line += 1;
      i += 1;
      endCommand();
      continue;
    }
    if (c === ' ' || c === '\t') {
      i += 1;
      continue;
    }
    if (c === '\\' && script[i + 1] === '\n') {
      line += 1;
      i += 2;
      continue;
    }
    if (c === '#') {
      while (i < script.length && script[i] !== '\n') i += 1;
      continue;
    }
    if (';&|()'.includes(c)) {
      i += 1;
      while (i < script.length && '&|;'.includes(script[i]!)) i += 1;
      endCommand();
      continue;
    }
    // A redirection: optional fd digits then < or >.
    const redirection = /^[0-9]*(>>|>&|<&|>|<)/.exec(script.slice(i));
    if (redirection && (c === '<' || c === '>' || /[0-9]/.test(c))) {
      i += redirection[0].length;
      skipNext = true;
      continue;
    }
    // A word.
    const start = i;
    let value = '';
    const unquoted: string[] = [];
    const nested: string[] = [];
    while (i < script.length && !' \t\n;&|()<>'.includes(script[i]!)) {
      const ch = script[i]!;
      if (ch === '\\') {
        value += script[i + 1] ?? '';
        i += 2;
      } else if (ch === "'") {
        const end = script.indexOf("'", i + 1);
        const stop = end === -1 ? script.length : end;
        value += script.slice(i + 1, stop);
        i = stop + 1;
      } else if (ch === '"') {
        i += 1;
        while (i < script.length && script[i] !== '"') {
          if (script[i] === '\\' && '"\\$`'.includes(script[i + 1] ?? '')) {
            value += script[i + 1];
            i += 2;
          } else if (script.startsWith('$(', i)) {
            const end = closeParen(script, i + 2);
            nested.push(script.slice(i + 2, end - 1));
            value += script.slice(i, end);
            i = end;
          } else {
            if (script[i] === '\n') line += 1;
            value += script[i];
            i += 1;
          }
        }
        i += 1;
      } else if (script.startsWith('$(', i)) {
        const end = closeParen(script, i + 2);
        nested.push(script.slice(i + 2, end - 1));
        value += script.slice(i, end);
        unquoted.push('$(...)');
        i = end;
      } else if (ch === '$') {
        const m = /^\$(\{[^}]*\}|[A-Za-z_][A-Za-z0-9_]*|[0-9@*#?$!-])/.exec(script.slice(i));
        if (m) {
          unquoted.push(m[1]!.replace(/^\{|\}$/g, '').replace(/[:#%/].*$/, ''));
          value += m[0];
          i += m[0].length;
        } else {
          value += ch;
          i += 1;
        }
      } else {
        value += ch;
        i += 1;
      }
    }
    for (const inner of nested) commands.push(...parseCommands(inner).map((cmd) => ({ ...cmd, line: line + cmd.line - 1 })));
    if (skipNext) {
      skipNext = false;
      continue;
    }
    if (words.length === 0) wordLine = line;
    words.push({ raw: script.slice(start, i), value, unquotedExpansions: unquoted });
  }
  endCommand();
  return commands;
}
