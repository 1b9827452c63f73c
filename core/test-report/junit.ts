/**
 * JUnit XML reports (the de-facto format of pytest `--junitxml`, Ant, Maven surefire,
 * node:test's junit reporter, Jenkins' own parser): `<testsuites>` or a lone `<testsuite>`,
 * suites nested at any depth, `<testcase classname name>` holding `<failure>`, `<error>` or
 * `<skipped>`. Parsed with fast-xml-parser (already a dependency); entities other than XML's
 * five are refused, so a report cannot expand itself (billion laughs) or read files.
 */
import { createRequire } from 'node:module';
import type { XMLParser as XMLParserClass } from 'fast-xml-parser';
import { cleanId, type TestCase } from './cases.js';

export class ReportError extends Error {
  override readonly name = 'ReportError';
}

type Node = Record<string, unknown>;

const ARRAYS = new Set(['testsuite', 'testcase', 'failure', 'error', 'skipped', 'rerunFailure', 'flakyFailure']);

function asNodes(value: unknown): Node[] {
  if (value === undefined || value === null) return [];
  const list = Array.isArray(value) ? value : [value];
  // `<testcase/>` with no attributes parses as an empty string.
  return list.map((v) => (typeof v === 'object' && v !== null ? (v as Node) : {}));
}

function caseOf(node: Node): TestCase {
  const name = typeof node.name === 'string' || typeof node.name === 'number' ? String(node.name) : '';
  const classname = typeof node.classname === 'string' ? node.classname : '';
  const id = cleanId(classname && name ? `${classname}.${name}` : name || classname || '(unnamed test)');
  const failed = asNodes(node.failure).length > 0 || asNodes(node.error).length > 0;
  const skipped = node.skipped !== undefined;
  return { id, status: failed ? 'fail' : skipped ? 'skip' : 'pass' };
}

function walkSuite(node: Node, out: TestCase[]): void {
  for (const c of asNodes(node.testcase)) out.push(caseOf(c));
  for (const s of asNodes(node.testsuite)) walkSuite(s, out);
}

/** True when the text looks like a JUnit report (its root is testsuites or testsuite). */
export function looksLikeJunit(text: string): boolean {
  const head = text.slice(0, 4096).replace(/<\?xml[^>]*\?>/, '').replace(/<!--[\s\S]*?-->/g, '').trimStart();
  return /^<testsuites?[\s>/]/.test(head);
}

let parserClass: typeof XMLParserClass | undefined;
/** fast-xml-parser, loaded on the first report (a landing without JUnit reports never loads it). */
function xmlParser(): typeof XMLParserClass {
  parserClass ??= (createRequire(import.meta.url)('fast-xml-parser') as { XMLParser: typeof XMLParserClass }).XMLParser;
  return parserClass;
}

/** The test cases of a JUnit XML report; throws ReportError when it is not one. */
export function parseJunit(text: string): TestCase[] {
  const XMLParser = xmlParser();
  if (/<!ENTITY/i.test(text)) throw new ReportError('the report declares XML entities; refused');
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '',
    parseAttributeValue: false,
    processEntities: true,
    // Numeric character references (&#10;) are decoded with the HTML set.
    htmlEntities: true,
    isArray: (name, _path, _leaf, isAttribute) => !isAttribute && ARRAYS.has(name),
  });
  let doc: Node;
  try {
    doc = parser.parse(text, true) as Node;
  } catch (error) {
    throw new ReportError(`not well-formed XML: ${(error as Error).message.split('\n')[0]}`);
  }
  const out: TestCase[] = [];
  if (doc.testsuites !== undefined) {
    for (const root of asNodes(doc.testsuites)) walkSuite(root, out);
  } else if (doc.testsuite !== undefined) {
    for (const s of asNodes(doc.testsuite)) walkSuite(s, out);
  } else {
    throw new ReportError('no <testsuites> or <testsuite> root element');
  }
  return out;
}
