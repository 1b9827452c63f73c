/**
 * A small element tree over fast-xml-parser (order preserved, text untrimmed), and the
 * model of a rendered Jenkins job that the checker and the local replay read.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';

export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  /** Concatenated text content of this element only (entities decoded). */
  text: string;
}

const ENTITIES: Record<string, string> = { quot: '"', amp: '&', lt: '<', gt: '>', apos: "'" };

/** Decodes XML entities in one pass, so `&amp;#65;` stays `&#65;`. */
export function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|quot|amp|lt|gt|apos);/g, (whole, ref: string) => {
    if (ref.startsWith('#x')) return String.fromCodePoint(parseInt(ref.slice(2), 16));
    if (ref.startsWith('#')) return String.fromCodePoint(parseInt(ref.slice(1), 10));
    return ENTITIES[ref] ?? whole;
  });
}

type Ordered = Record<string, unknown>;

function toElement(node: Ordered): XmlElement | undefined {
  const name = Object.keys(node).find((k) => k !== ':@' && k !== '#text');
  if (!name) return undefined;
  const attrs: Record<string, string> = {};
  for (const [k, v] of Object.entries((node[':@'] as Record<string, unknown> | undefined) ?? {})) {
    attrs[k] = decodeEntities(String(v));
  }
  const children: XmlElement[] = [];
  let text = '';
  for (const child of (node[name] as Ordered[] | undefined) ?? []) {
    if ('#text' in child) text += String(child['#text']);
    else {
      const el = toElement(child);
      if (el) children.push(el);
    }
  }
  return { name, attrs, children, text: decodeEntities(text) };
}

/** Parses an XML document into its root element; throws with the parser's message. */
export function parseXml(xml: string): XmlElement {
  const valid = XMLValidator.validate(xml);
  if (valid !== true) {
    throw new Error(`invalid XML at line ${valid.err.line}: ${valid.err.msg}`);
  }
  const parser = new XMLParser({
    preserveOrder: true,
    ignoreAttributes: false,
    attributeNamePrefix: '',
    trimValues: false,
    parseTagValue: false,
    parseAttributeValue: false,
    processEntities: false,
    ignoreDeclaration: true,
    ignorePiTags: true,
  });
  const nodes = parser.parse(xml) as Ordered[];
  for (const node of nodes) {
    const el = toElement(node);
    if (el) return el;
  }
  throw new Error('XML document has no root element');
}

/** First child named `name`. */
export function child(el: XmlElement | undefined, name: string): XmlElement | undefined {
  return el?.children.find((c) => c.name === name);
}

/** Follows a path of child names. */
export function at(el: XmlElement | undefined, ...path: string[]): XmlElement | undefined {
  let cur = el;
  for (const name of path) cur = child(cur, name);
  return cur;
}

/** Trimmed text at a path, or undefined when the element is absent. */
export function textAt(el: XmlElement | undefined, ...path: string[]): string | undefined {
  const found = at(el, ...path);
  return found ? found.text.trim() : undefined;
}
