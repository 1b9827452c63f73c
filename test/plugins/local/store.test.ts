/**
 * Edits of hand-written proposal files change only what the bot means to change: every
 * other byte (spacing, comments, quoting style) is kept, whatever the layout.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import YAML from 'yaml';
import { editProposalFile, type Edit } from '../../../plugins/local/store.js';
import { tempDir } from '../../support/git-repos.js';

const tmp = tempDir('byoci-local-store-');
after(() => tmp.remove());
let n = 0;

async function edited(text: string, edit: Edit): Promise<string> {
  const file = join(tmp.dir, `${++n}.yaml`);
  writeFileSync(file, text);
  await editProposalFile(file, edit);
  return readFileSync(file, 'utf8');
}

const COMMENT = { author: 'byoci', subject: 'Re: [Merge] a:b into c:main', body: 'Line one: with colon\n\nBuild: https://x.invalid/1/', date: '2026-11-24T06:00:00.000Z' };
const COMMENT_YAML = (indent: string) =>
  [
    `${indent}- author: byoci`,
    `${indent}  subject: "Re: [Merge] a:b into c:main"`,
    `${indent}  body: |-`,
    `${indent}    Line one: with colon`,
    '',
    `${indent}    Build: https://x.invalid/1/`,
    `${indent}  date: 2026-11-24T06:00:00.000Z`,
  ].join('\n');

test('a status with a trailing comment and odd spacing keeps both', async () => {
  const text = 'title:   Spaced   # aligned\nstatus:    Approved    # set by alice\nvotes: [ {reviewer: a,   vote: Approve} ]\n';
  const out = await edited(text, (d) => d.set('status', 'Needs review'));
  assert.equal(out, 'title:   Spaced   # aligned\nstatus:    Needs review    # set by alice\nvotes: [ {reviewer: a,   vote: Approve} ]\n');
});

test('an empty flow sequence of comments becomes a block sequence', async () => {
  const out = await edited('status: Approved\ncomments: []\nx: 1   # keep\n', (d) => (d.addComment(COMMENT), true));
  assert.equal(out, `status: Approved\ncomments:\n${COMMENT_YAML('  ')}\nx: 1   # keep\n`);
});

test('a block sequence gets the item at its own indentation (0 or 2)', async () => {
  const zero = 'comments:\n- author: alice\n  subject: hi\n  body: first   # hand comment\nstatus: Approved\n';
  assert.equal(await edited(zero, (d) => (d.addComment(COMMENT), true)), `comments:\n- author: alice\n  subject: hi\n  body: first   # hand comment\n${COMMENT_YAML('')}\nstatus: Approved\n`);
  const two = 'status: Approved\ncomments:\n  - author: alice\n    body: |\n      kept\n        as is\n';
  assert.equal(await edited(two, (d) => (d.addComment(COMMENT), true)), `${two}${COMMENT_YAML('  ')}\n`);
});

test('missing fields are appended, also to a file without a final newline', async () => {
  const out = await edited('status: Approved', (d) => {
    d.set('status', 'Merged');
    d.set('merged_revision', '0000000000000000000000000000000000000042');
    return true;
  });
  assert.equal(out, 'status: Merged\nmerged_revision: "0000000000000000000000000000000000000042"\n');
  const comment = await edited('status: Approved  # x', (d) => (d.addComment(COMMENT), true));
  assert.equal(comment, `status: Approved  # x\ncomments:\n${COMMENT_YAML('  ')}\n`);
});

test('an empty value is filled in place', async () => {
  const out = await edited('merged_revision:\ncomments:\nstatus: Approved\n', (d) => {
    d.set('merged_revision', 'abc123');
    d.addComment(COMMENT);
    return true;
  });
  assert.equal(out, `merged_revision: abc123\ncomments:\n${COMMENT_YAML('  ')}\nstatus: Approved\n`);
});

test('a non-empty flow sequence is rewritten as a block with every item', async () => {
  const out = await edited('comments: [{author: a, subject: s, body: b}]\n', (d) => (d.addComment(COMMENT), true));
  assert.deepEqual(YAML.parse(out).comments, [{ author: 'a', subject: 's', body: 'b' }, COMMENT]);
  assert.equal(out, `comments:\n  - {author: a, subject: s, body: b}\n${COMMENT_YAML('  ')}\n`);
});

test('layouts that cannot be patched are re-rendered, with the same data', async () => {
  const out = await edited('{status: Approved, title: t}\n', (d) => d.set('status', 'Needs review'));
  assert.deepEqual(YAML.parse(out), { status: 'Needs review', title: 't' });
});

test('hostile values stay data: a value cannot add keys or break the file', async () => {
  const out = await edited('status: Approved\n', (d) => {
    d.set('status', 'Needs review\nmerged_revision: evil');
    d.addComment({ ...COMMENT, body: 'x\n---\nstatus: Merged\n... ', subject: '- [evil]: {a: b} # c' });
    return true;
  });
  const data = YAML.parse(out);
  assert.equal(data.status, 'Needs review\nmerged_revision: evil');
  assert.equal(data.merged_revision, undefined);
  assert.equal(data.comments[0].subject, '- [evil]: {a: b} # c');
  assert.equal(data.comments[0].body, 'x\n---\nstatus: Merged\n... ');
  assert.deepEqual(readdirSync(tmp.dir).filter((f) => f.startsWith('.')), [], 'no temp files left');
});
