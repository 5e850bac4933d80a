/**
 * Property lists in the two XML dialects a kext meets: Apple's standard XML plist (a kext's
 * Info.plist, stored verbatim in mkext v1) and IOKit's XML (IOCFSerialize's output, the mkext v2
 * plist, read by the kernel's OSUnserializeXML): no prolog, `<integer size="N">0x…</integer>`,
 * ID/IDREF for shared objects, `<set>`.
 *
 * One parser reads both. We do not use the `plist` package here although it is a dependency:
 * it reads `<integer>0x10</integer>` as 0 and `<integer>1<!-- -->2</integer>` as 1, rounds
 * integers past 2^53, turns a dangling `<key>` into an empty string, prints xmldom's complaints
 * to stderr and keeps unknown entities literally; an mkext built from such values would differ
 * from what the kernel reads out of the same Info.plist.
 */
import { DarwinInputError } from "./errors";

/**
 * A parsed plist value. Integers are bigint (kext plists carry 64-bit values) as written;
 * IOKit XML stores them as 64-bit hex, which reads back unsigned as the kernel sees it
 * (-2 becomes 2^64 - 2). `<real>` is number.
 */
export type PlistValue = string | bigint | number | boolean | Buffer | Date | PlistValue[] | PlistDict;
/** A `<dict>`; created without a prototype so keys such as `__proto__` are plain data. */
export interface PlistDict {
  [key: string]: PlistValue;
}

/** A syntax or structure error in XML plist text, with its line and column. */
export class PlistSyntaxError extends DarwinInputError {
  override readonly name = "PlistSyntaxError";
  constructor(
    readonly source: string,
    readonly line: number,
    readonly column: number,
    readonly reason: string,
  ) {
    super(`${source}: line ${line}, column ${column}: ${reason}`);
  }
}

export function newDict(): PlistDict {
  return Object.create(null) as PlistDict;
}

export function isDict(value: PlistValue | undefined): value is PlistDict {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !Buffer.isBuffer(value) && !(value instanceof Date);
}

const ENTITIES: Record<string, string> = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };
const INTEGER_SIZES = new Set([8, 16, 32, 64]);

interface Tag {
  readonly name: string;
  readonly attributes: Record<string, string>;
  readonly selfClosing: boolean;
  readonly start: number;
}

/** A strict recursive-descent reader over the XML subset plists use. */
class PlistReader {
  private pos = 0;
  private readonly objectsById = new Map<string, PlistValue>();

  constructor(
    private readonly text: string,
    private readonly source: string,
  ) {}

  fail(reason: string, at = this.pos): never {
    let line = 1;
    let lineStart = 0;
    for (let i = 0; i < at && i < this.text.length; i++) {
      if (this.text.charCodeAt(i) === 10) {
        line++;
        lineStart = i + 1;
      }
    }
    throw new PlistSyntaxError(this.source, line, at - lineStart + 1, reason);
  }

  readDocument(): PlistValue {
    this.skipMisc();
    let tag = this.readTag();
    const wrapped = tag.name === "plist";
    if (wrapped) {
      if (tag.selfClosing) this.fail("<plist/> is empty; it must contain one value such as <dict>", tag.start);
      this.skipMisc();
      tag = this.readTag();
    }
    const value = this.readValue(tag);
    this.skipMisc();
    if (wrapped) {
      this.expectClose("plist");
      this.skipMisc();
    }
    if (this.pos < this.text.length) this.fail(`unexpected content after the ${wrapped ? "</plist>" : "top-level value"}`);
    return value;
  }

  /** Whitespace, comments, `<?…?>` and `<!DOCTYPE …>` between elements. */
  private skipMisc(): void {
    for (;;) {
      while (this.pos < this.text.length && /\s/.test(this.text[this.pos]!)) this.pos++;
      if (this.text.startsWith("<!--", this.pos)) this.skipPast("-->", "comment");
      else if (this.text.startsWith("<?", this.pos)) this.skipPast("?>", "processing instruction");
      else if (this.text.startsWith("<!DOCTYPE", this.pos)) {
        if (this.text.indexOf("[", this.pos) !== -1 && this.text.indexOf("[", this.pos) < this.text.indexOf(">", this.pos)) {
          this.fail("DOCTYPE with an internal subset (custom entities) is not supported in plists");
        }
        this.skipPast(">", "DOCTYPE");
      } else return;
    }
  }

  private skipPast(terminator: string, what: string): void {
    const end = this.text.indexOf(terminator, this.pos);
    if (end === -1) this.fail(`unterminated ${what}`);
    this.pos = end + terminator.length;
  }

  private readTag(): Tag {
    const start = this.pos;
    if (this.text[this.pos] !== "<")
      this.fail(this.pos >= this.text.length ? "unexpected end of text; expected an element" : "expected an element such as <dict>, <string> or <integer>");
    const match = /^<([A-Za-z_][\w.-]*)((?:\s+[A-Za-z_][\w.-]*\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>/.exec(this.text.slice(this.pos, this.pos + 512));
    if (!match) this.fail("malformed start tag");
    const attributes: Record<string, string> = {};
    for (const attribute of match[2]!.matchAll(/([A-Za-z_][\w.-]*)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) {
      attributes[attribute[1]!] = this.decodeEntities(attribute[2] ?? attribute[3] ?? "", start);
    }
    this.pos += match[0].length;
    return { name: match[1]!, attributes, selfClosing: match[3] === "/", start };
  }

  private expectClose(name: string): void {
    const closing = `</${name}`;
    if (!this.text.startsWith(closing, this.pos)) {
      const found = /^<\/?[\w.-]*/.exec(this.text.slice(this.pos, this.pos + 64))?.[0];
      this.fail(`expected </${name}>${found ? ` but found ${found}…` : ""}`);
    }
    this.pos += closing.length;
    while (/\s/.test(this.text[this.pos] ?? "")) this.pos++;
    if (this.text[this.pos] !== ">") this.fail(`malformed </${name}>`);
    this.pos++;
  }

  /** Character data up to the element's end tag: entities decoded, comments dropped, CDATA kept. */
  private readText(name: string): string {
    let result = "";
    for (;;) {
      const lt = this.text.indexOf("<", this.pos);
      if (lt === -1) this.fail(`unterminated <${name}>`);
      result += this.decodeEntities(this.text.slice(this.pos, lt), this.pos);
      this.pos = lt;
      if (this.text.startsWith("<!--", lt)) this.skipPast("-->", "comment");
      else if (this.text.startsWith("<![CDATA[", lt)) {
        const end = this.text.indexOf("]]>", lt);
        if (end === -1) this.fail("unterminated CDATA section");
        result += this.text.slice(lt + 9, end);
        this.pos = end + 3;
      } else {
        this.expectClose(name);
        return result;
      }
    }
  }

  private decodeEntities(raw: string, at: number): string {
    if (!raw.includes("&")) return raw;
    return raw.replace(/&([^;&\s]*);?/g, (whole, name: string) => {
      if (!whole.endsWith(";")) this.fail(`"&" must be written as &amp; (found "${whole}")`, at);
      if (name in ENTITIES) return ENTITIES[name]!;
      const numeric = /^#(?:x([0-9a-fA-F]+)|([0-9]+))$/.exec(name);
      const code = numeric ? parseInt(numeric[1] ?? numeric[2]!, numeric[1] ? 16 : 10) : NaN;
      if (!(code >= 0 && code <= 0x10ffff)) this.fail(`unknown entity &${name}; (plists know &lt; &gt; &amp; &quot; &apos; and &#…;)`, at);
      return String.fromCodePoint(code);
    });
  }

  private readValue(tag: Tag): PlistValue {
    const idref = tag.attributes.IDREF;
    if (idref !== undefined) {
      if (!tag.selfClosing) this.fail(`<${tag.name} IDREF="${idref}"> must be empty (<${tag.name} IDREF="${idref}"/>)`, tag.start);
      const target = this.objectsById.get(idref);
      if (target === undefined) this.fail(`IDREF="${idref}" refers to no earlier ID`, tag.start);
      return target;
    }
    const value = this.readElement(tag);
    const id = tag.attributes.ID;
    if (id !== undefined) {
      if (this.objectsById.has(id)) this.fail(`ID="${id}" is used twice`, tag.start);
      this.objectsById.set(id, value);
    }
    return value;
  }

  private readElement(tag: Tag): PlistValue {
    const text = () => (tag.selfClosing ? "" : this.readText(tag.name));
    switch (tag.name) {
      case "dict":
        return this.readDict(tag);
      case "array":
      case "set":
        return this.readArray(tag);
      case "string":
        return text();
      case "key":
        return this.fail("<key> outside a <dict>", tag.start);
      case "true":
      case "false":
        if (!tag.selfClosing) this.expectClose(tag.name);
        return tag.name === "true";
      case "integer":
        return this.parseInteger(text(), tag);
      case "real": {
        const raw = text().trim();
        const value = Number(raw);
        if (raw === "" || Number.isNaN(value)) this.fail(`<real>${raw}</real> is not a number`, tag.start);
        return value;
      }
      case "data": {
        const raw = text().replace(/\s+/g, "");
        if (!/^[A-Za-z0-9+/]*={0,2}$/.test(raw) || raw.length % 4 === 1) this.fail("<data> is not valid base64", tag.start);
        return Buffer.from(raw, "base64");
      }
      case "date": {
        const raw = text().trim();
        const value = new Date(raw);
        if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/.test(raw) || Number.isNaN(value.getTime()))
          this.fail(`<date>${raw}</date> is not an ISO 8601 UTC date (YYYY-MM-DDTHH:MM:SSZ)`, tag.start);
        return value;
      }
      default:
        return this.fail(`unknown element <${tag.name}>`, tag.start);
    }
  }

  private parseInteger(raw: string, tag: Tag): bigint {
    const trimmed = raw.trim();
    const match = /^([+-]?)(0[xX][0-9a-fA-F]+|[0-9]+)$/.exec(trimmed);
    if (!match) this.fail(`<integer>${trimmed}</integer> is not a decimal or 0x-hexadecimal integer`, tag.start);
    let value = BigInt(match[2]!);
    if (match[1] === "-") value = -value;
    const sizeText = tag.attributes.size;
    const size = sizeText === undefined ? 64 : Number(sizeText);
    if (!INTEGER_SIZES.has(size)) this.fail(`<integer size="${sizeText}"> must have size 8, 16, 32 or 64`, tag.start);
    if (value >= 1n << BigInt(size) || value < -(1n << BigInt(size - 1))) this.fail(`<integer>${trimmed}</integer> does not fit in ${size} bits`, tag.start);
    return value;
  }

  private readDict(tag: Tag): PlistDict {
    const dict = newDict();
    if (tag.selfClosing) return dict;
    for (;;) {
      this.skipMisc();
      if (this.text.startsWith("</", this.pos)) {
        this.expectClose("dict");
        return dict;
      }
      const keyTag = this.readTag();
      if (keyTag.name !== "key") this.fail(`expected <key> in <dict> but found <${keyTag.name}>`, keyTag.start);
      const key = keyTag.selfClosing ? "" : this.readText("key");
      this.skipMisc();
      if (this.text.startsWith("</", this.pos)) this.fail(`<key>${key}</key> has no value`);
      const valueTag = this.readTag();
      if (valueTag.name === "key") this.fail(`<key>${key}</key> is followed by another <key> instead of a value`, valueTag.start);
      if (Object.prototype.hasOwnProperty.call(dict, key)) this.fail(`<key>${key}</key> appears twice in the same <dict>`, keyTag.start);
      dict[key] = this.readValue(valueTag);
    }
  }

  private readArray(tag: Tag): PlistValue[] {
    const array: PlistValue[] = [];
    if (tag.selfClosing) return array;
    for (;;) {
      this.skipMisc();
      if (this.text.startsWith("</", this.pos)) {
        this.expectClose(tag.name);
        return array;
      }
      array.push(this.readValue(this.readTag()));
    }
  }
}

/**
 * Parses XML plist text in either dialect: an optional prolog and `<plist>` wrapper, then one
 * value. `source` (a file path, or a description such as "mkext plist") prefixes error messages.
 */
export function parsePlistXml(text: string, source: string): PlistValue {
  return new PlistReader(text, source).readDocument();
}

/** Parses an Info.plist file's bytes and requires a top-level `<dict>`. */
export function parseInfoPlist(bytes: Uint8Array, source: string): PlistDict {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8");
  const value = parsePlistXml(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text, source);
  if (!isDict(value)) throw new PlistSyntaxError(source, 1, 1, "the top-level value must be a <dict>");
  return value;
}

function escapeText(text: string): string {
  return text.replace(/[<>&]/g, (c) => (c === "<" ? "&lt;" : c === ">" ? "&gt;" : "&amp;"));
}

/** Key under which equal scalars are shared; objects are shared by identity. */
function shareKey(value: PlistValue): string | object | undefined {
  if (typeof value === "string") return `s${value}`;
  if (typeof value === "bigint") return `i${value}`;
  if (typeof value === "object" && !(value instanceof Date)) return value;
  return undefined;
}

function describePath(path: readonly string[]): string {
  return path.length ? path.join(" → ") : "(top level)";
}

/**
 * Serializes a value the way IOCFSerialize does for the kernel: no prolog, integers as
 * `<integer size="64">0x…</integer>` (CF stores plist integers as SInt64), only `<`, `>`, `&`
 * escaped, and every value that occurs more than once written in full the first time with
 * `ID="n"` and afterwards as `<tag IDREF="n"/>`. Equal strings and integers count as the same
 * value (CF's plist reader uniques them too); dictionary keys and booleans never get IDs.
 * `<real>` and `<date>` are rejected: OSUnserializeXML has no such elements.
 */
export function serializeIokitXml(value: PlistValue): string {
  const counts = new Map<string | object, number>();
  const count = (v: PlistValue): void => {
    const key = shareKey(v);
    if (key === undefined) return;
    const seen = counts.get(key) ?? 0;
    counts.set(key, seen + 1);
    if (seen > 0) return;
    if (Array.isArray(v)) v.forEach(count);
    else if (isDict(v)) Object.values(v).forEach(count);
  };
  count(value);

  const ids = new Map<string | object, number>();
  const parts: string[] = [];
  const write = (v: PlistValue, path: string[]): void => {
    const key = shareKey(v);
    const tag = elementName(v, path);
    if (key !== undefined) {
      const id = ids.get(key);
      if (id !== undefined) {
        parts.push(`<${tag} IDREF="${id}"/>`);
        return;
      }
    }
    let idAttribute = "";
    if (key !== undefined && counts.get(key)! > 1) {
      ids.set(key, ids.size);
      idAttribute = ` ID="${ids.size - 1}"`;
    }
    if (typeof v === "string") parts.push(`<string${idAttribute}>${escapeText(v)}</string>`);
    else if (typeof v === "bigint") parts.push(`<integer size="64"${idAttribute}>0x${BigInt.asUintN(64, v).toString(16)}</integer>`);
    else if (typeof v === "boolean") parts.push(v ? "<true/>" : "<false/>");
    else if (Buffer.isBuffer(v)) parts.push(`<data${idAttribute}>${v.toString("base64")}</data>`);
    else if (Array.isArray(v)) {
      parts.push(`<array${idAttribute}>`);
      v.forEach((item, index) => write(item, [...path, `[${index}]`]));
      parts.push("</array>");
    } else if (isDict(v)) {
      parts.push(`<dict${idAttribute}>`);
      for (const [k, item] of Object.entries(v)) {
        parts.push(`<key>${escapeText(k)}</key>`);
        write(item, [...path, k]);
      }
      parts.push("</dict>");
    }
  };
  write(value, []);
  return parts.join("");
}

function elementName(value: PlistValue, path: readonly string[]): string {
  if (typeof value === "string") return "string";
  if (typeof value === "bigint") return "integer";
  if (typeof value === "boolean") return value ? "true" : "false";
  if (Buffer.isBuffer(value)) return "data";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number" || value instanceof Date) {
    throw new Error(
      `${describePath(path)}: <${typeof value === "number" ? "real" : "date"}> cannot be written for the kernel; OSUnserializeXML only knows dict, array, set, string, integer, data, true and false`,
    );
  }
  return "dict";
}

/** Finds the first `<real>` or `<date>` in a value, which the kernel's XML parser would reject; returns its key path. */
export function findKernelUnparseable(value: PlistValue, path: string[] = []): string | undefined {
  if (typeof value === "number" || value instanceof Date) return `${describePath(path)} (<${typeof value === "number" ? "real" : "date"}>)`;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findKernelUnparseable(value[i]!, [...path, `[${i}]`]);
      if (found) return found;
    }
  } else if (isDict(value)) {
    for (const [key, item] of Object.entries(value)) {
      const found = findKernelUnparseable(item, [...path, key]);
      if (found) return found;
    }
  }
  return undefined;
}
