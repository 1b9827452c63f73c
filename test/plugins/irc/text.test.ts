/**
 * What ends up in an IRC line: sanitising untrusted fields, fitting into 512 bytes
 * without breaking UTF-8, templates, and config errors an operator would see.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ircConfig } from '../../../plugins/irc/config.js';
import { lineFor, textBudget } from '../../../plugins/irc/message.js';
import { byteLength, cut, sanitize, splitBytes } from '../../../plugins/irc/sanitize.js';
import { renderLine, templateProblems } from '../../../plugins/irc/template.js';
import { failed, landed, proposal, rejected } from './fixtures.js';

const base = { server: '127.0.0.1', tls: false, channels: [{ channel: '#landing' }] };

describe('sanitize', () => {
  test('CR, LF and NUL cannot end the line: a QUIT injection becomes plain text', () => {
    assert.equal(sanitize('Fix\r\nQUIT :bye'), 'Fix QUIT :bye');
    assert.equal(sanitize('a\0b\nc\rd'), 'ab c d');
  });

  test('IRC formatting codes and their colour numbers are removed', () => {
    assert.equal(sanitize('\x02bold\x02 \x0304,12red\x03 \x1ditalic\x1d \x1funder\x1f \x16rev\x0f \x04ff0000hex'), 'bold red italic under rev hex');
  });

  test('a CTCP request (\\x01ACTION ...\\x01) is no longer one', () => {
    assert.equal(sanitize('\x01ACTION waves\x01'), 'ACTION waves');
    assert.equal(sanitize('\x01DCC SEND x 2130706433 22 1\x01'), 'DCC SEND x 2130706433 22 1');
  });

  test('other control characters, bidi overrides and Unicode line separators go too', () => {
    assert.equal(sanitize('a\x07b\x1bc\x7fd\u0085e\u202ef\u2028g'), 'abcd ef g');
  });

  test('a lone surrogate becomes U+FFFD instead of invalid UTF-8', () => {
    assert.equal(sanitize('x\ud800y'), 'x\ufffdy');
  });

  test('ordinary text, including non-Latin scripts and emoji, is untouched', () => {
    const text = 'Réparer le cache — 修复缓存 👩‍👩‍👧 done';
    assert.equal(sanitize(text), text);
  });
});

describe('fitting into bytes', () => {
  test('cut keeps whole multi-byte characters and graphemes and ends with an ellipsis', () => {
    const text = 'é'.repeat(100) + '👩‍👩‍👧'.repeat(10);
    for (const max of [10, 11, 199, 201, 210, 215]) {
      const out = cut(text, max);
      assert.ok(byteLength(out) <= max, `${byteLength(out)} > ${max}`);
      assert.ok(out.endsWith('…'));
      assert.ok(!out.includes('\ufffd'));
      assert.ok(text.startsWith(out.slice(0, -1)), 'a prefix of the text');
    }
    // A family emoji is never split into its members.
    const emoji = cut('x' + '👩‍👩‍👧'.repeat(3), 25);
    assert.equal(emoji, 'x👩‍👩‍👧…');
  });

  test('splitBytes breaks at spaces, keeps every line within the limit, and cuts the last one', () => {
    const words = Array.from({ length: 200 }, (_, i) => `word${i}`).join(' ');
    const lines = splitBytes(words, 100, 3);
    assert.equal(lines.length, 3);
    for (const line of lines) assert.ok(byteLength(line) <= 100);
    assert.ok(lines[0]?.endsWith('word14'), lines[0]);
    assert.ok(lines[1]?.startsWith('word15'), lines[1]);
    assert.ok(lines[2]?.endsWith('…'));
    assert.deepEqual(splitBytes('short', 100, 3), ['short']);
  });
});

describe('templates', () => {
  test('unknown fields and unbalanced groups are reported by name', () => {
    assert.deepEqual(templateProblems('{project} {title} {url} [[ {buildUrl}]]'), []);
    const problems = templateProblems('{projet} [[ {buildUrl}');
    assert.equal(problems.length, 2);
    assert.match(problems[0] ?? '', /unknown field \{projet\}/);
    assert.match(problems[1] ?? '', /unbalanced/);
  });

  test('${field} (what byoci.yaml needs) and {field} both work', () => {
    assert.equal(renderLine('${project}/{title}', { project: 'brz', title: 'Fix' }, 400), 'brz/Fix');
    assert.match(templateProblems('${titel}')[0] ?? '', /unknown field \{titel\}/);
  });

  test('a [[group]] disappears when its field is empty', () => {
    assert.equal(renderLine('a[[ b={buildUrl}]] c', {}, 400), 'a c');
    assert.equal(renderLine('a[[ b={buildUrl}]] c', { buildUrl: 'https://ci/1' }, 400), 'a b=https://ci/1 c');
  });

  test('a long reason is shortened, not the URLs', () => {
    const config = ircConfig.parse(base);
    const line = lineFor(config, rejected('x'.repeat(2000)), '#landing', 'byoci', 'https://jenkins.example.org/job/land/42/', (s) => s);
    const budget = textBudget('#landing', 'byoci', 'byoci');
    assert.ok(byteLength(line) <= budget);
    assert.ok(byteLength(line) > budget - 8, 'uses the room it has');
    assert.match(line, /^brz: rejected Fix the frobnicator <https:\/\/code\.example\.org\/brz\/\+merge\/7> https:\/\/jenkins\.example\.org\/job\/land\/42\/: x+…$/);
  });

  test('each outcome has its template', () => {
    const config = ircConfig.parse(base);
    const id = (s: string) => s;
    assert.equal(
      lineFor(config, landed(), '#landing', 'byoci', undefined, id),
      `brz: landed Fix the frobnicator <https://code.example.org/brz/+merge/7> as ${'b'.repeat(40)}`,
    );
    assert.equal(
      lineFor(config, failed(), '#landing', 'byoci', 'https://ci/9', id),
      'brz: tests failed for Fix the frobnicator <https://code.example.org/brz/+merge/7> https://ci/9: The tests failed (exit code 2). | FAILED (failures=1)',
    );
  });

  test('secrets are redacted before they reach a line', () => {
    const config = ircConfig.parse(base);
    const line = lineFor(config, rejected('token hunter2hunter2 leaked'), '#landing', 'byoci', undefined, (s) =>
      s.replaceAll('hunter2hunter2', '[REDACTED]'),
    );
    assert.match(line, /token \[REDACTED\] leaked/);
  });

  test('the title of a proposal cannot smuggle formatting or a second line', () => {
    const config = ircConfig.parse(base);
    const line = lineFor(config, landed(proposal({ title: '\x02Evil\x02\r\nPRIVMSG #other :spam' })), '#landing', 'byoci', undefined, (s) => s);
    assert.match(line, /^brz: landed Evil PRIVMSG #other :spam </);
    assert.doesNotMatch(line, /[\x00-\x1f]/);
  });
});

describe('config', () => {
  test('problems name the option and what is wrong', () => {
    const result = ircConfig.safeParse({
      server: 'irc.example.org',
      nick: '9lives',
      channels: [{ channel: 'landing' }],
      templates: { landed: '{project} {titel}', rejected: 'a\r\nQUIT' },
      timeout: 'soon',
    });
    assert.equal(result.success, false);
    const messages = result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    assert.ok(messages.some((m) => /^nick: must be a valid IRC nick/.test(m)), messages.join('\n'));
    assert.ok(messages.some((m) => /^channels\.0\.channel: must be an IRC channel name/.test(m)));
    assert.ok(messages.some((m) => /^templates\.landed: unknown field \{titel\}/.test(m)));
    assert.ok(messages.some((m) => /^templates\.rejected: must not contain CR, LF/.test(m)));
    assert.ok(messages.some((m) => /^timeout: "soon" is not a duration/.test(m)));
  });

  test('defaults: TLS on 6697, landed/rejected/error announced, 15 s timeout, join when needed', () => {
    const config = ircConfig.parse({ server: 'irc.libera.chat', channels: [{ channel: '#breezy' }] });
    assert.equal(config.tls, true);
    assert.deepEqual(config.events, ['landed', 'rejected', 'error']);
    assert.equal(config.timeout, 15_000);
    assert.equal(config.join, 'auto');
  });
});
