import * as plist from "plist";
import { describe, expect, it } from "vitest";
import { newDict, parseInfoPlist, parsePlistXml, PlistSyntaxError, serializeIokitXml, type PlistDict, type PlistValue } from "../../lib/darwin/plist-xml";

const wrap = (body: string) => `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
${body}
</plist>
`;

const parse = (body: string) => parsePlistXml(wrap(body), "Test.kext/Contents/Info.plist");

function syntaxError(body: string): PlistSyntaxError {
  try {
    parse(body);
  } catch (error) {
    if (error instanceof PlistSyntaxError) return error;
    throw error;
  }
  throw new Error("expected a PlistSyntaxError");
}

describe("Info.plist parsing", () => {
  it("reads every standard type", () => {
    const value = parse(`<dict>
      <key>s</key><string>text</string>
      <key>i</key><integer>42</integer>
      <key>r</key><real>1.5</real>
      <key>t</key><true/>
      <key>f</key><false/>
      <key>d</key><data>
        AAEC
        /w==
      </data>
      <key>date</key><date>2009-08-28T12:00:00Z</date>
      <key>a</key><array><string>x</string><integer>1</integer></array>
      <key>empty</key><dict/>
    </dict>`);
    expect(value).toEqual({
      s: "text",
      i: 42n,
      r: 1.5,
      t: true,
      f: false,
      d: Buffer.from([0, 1, 2, 255]),
      date: new Date("2009-08-28T12:00:00Z"),
      a: ["x", 1n],
      empty: {},
    });
  });

  it("decodes the predefined and numeric entities, and keeps CDATA verbatim", () => {
    expect(parse(`<dict><key>A&amp;B</key><string>&lt;tag&gt; &quot;q&quot; &apos;a&apos; &#65;&#x42; <![CDATA[<raw & kept>]]></string></dict>`)).toEqual({
      "A&B": `<tag> "q" 'a' AB <raw & kept>`,
    });
  });

  it("skips comments between elements and inside values", () => {
    expect(
      parse(
        `<!-- before --><dict><!-- c1 --><key>k<!-- in key --></key><!-- c2 --><string>a<!-- in string -->b</string><key>n</key><integer>1<!-- split -->2</integer></dict>`,
      ),
    ).toEqual({ k: "ab", n: 12n });
  });

  it("reads decimal, signed, hex and 64-bit integers exactly (the plist package gets these wrong)", () => {
    const value = parse(
      `<dict><key>hex</key><integer>0x10</integer><key>neg</key><integer> -5 </integer><key>big</key><integer>18446744073709551615</integer><key>sized</key><integer size="32">0xffffffff</integer></dict>`,
    ) as PlistDict;
    expect(value).toEqual({ hex: 16n, neg: -5n, big: 18446744073709551615n, sized: 0xffffffffn });
    // What the plist package does with the same integers: why we parse plists ourselves.
    const viaPackage = plist.parse(wrap(`<dict><key>hex</key><integer>0x10</integer><key>big</key><integer>18446744073709551615</integer></dict>`)) as Record<
      string,
      number
    >;
    expect(viaPackage.hex).toBe(0);
    expect(BigInt(viaPackage.big!)).not.toBe(18446744073709551615n);
  });

  it("agrees with the plist package on a typical kext Info.plist", () => {
    const text = wrap(`<dict>
      <key>CFBundleIdentifier</key><string>com.example.driver.Foo</string>
      <key>CFBundleVersion</key><string>1.2.3</string>
      <key>IOKitPersonalities</key><dict><key>Foo</key><dict><key>IOPCIMatch</key><string>0x100f8086&amp;0xffffffff</string><key>IOProbeScore</key><integer>1000</integer></dict></dict>
      <key>OSBundleLibraries</key><dict><key>com.apple.kpi.iokit</key><string>9.0.0</string></dict>
    </dict>`);
    const ours = parsePlistXml(text, "Info.plist");
    const theirs = plist.parse(text);
    const normalize = (value: PlistValue): unknown =>
      typeof value === "bigint"
        ? Number(value)
        : Array.isArray(value)
          ? value.map(normalize)
          : typeof value === "object" && !Buffer.isBuffer(value) && !(value instanceof Date)
            ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalize(v)]))
            : value;
    expect(normalize(ours)).toEqual(theirs);
  });

  it("treats __proto__ as an ordinary key", () => {
    const value = parse(`<dict><key>__proto__</key><string>x</string></dict>`) as PlistDict;
    expect(Object.keys(value)).toEqual(["__proto__"]);
    expect(value.__proto__).toBe("x");
  });

  it("accepts a byte-order mark and requires a dict at the top for Info.plist", () => {
    expect(parseInfoPlist(Buffer.from(`\ufeff${wrap("<dict/>")}`), "x")).toEqual({});
    expect(() => parseInfoPlist(Buffer.from(wrap("<array/>")), "Foo.kext/Contents/Info.plist")).toThrow(
      "Foo.kext/Contents/Info.plist: line 1, column 1: the top-level value must be a <dict>",
    );
  });

  const errors: [string, string, string][] = [
    ["a key without a value", `<dict><key>a</key></dict>`, "<key>a</key> has no value"],
    ["two keys in a row", `<dict><key>a</key><key>b</key><string/></dict>`, "<key>a</key> is followed by another <key>"],
    ["a duplicate key", `<dict><key>a</key><true/><key>a</key><false/></dict>`, "<key>a</key> appears twice"],
    ["an unknown entity", `<dict><key>a</key><string>&nbsp;</string></dict>`, "unknown entity &nbsp;"],
    ["a bare ampersand", `<dict><key>a</key><string>A & B</string></dict>`, `"&" must be written as &amp;`],
    ["mismatched tags", `<dict><key>a</key><string>x</dict>`, "expected </string> but found </dict"],
    ["a non-integer", `<dict><key>a</key><integer>12abc</integer></dict>`, "<integer>12abc</integer> is not a decimal or 0x-hexadecimal integer"],
    ["an integer too large", `<dict><key>a</key><integer>0x1ffffffffffffffff</integer></dict>`, "does not fit in 64 bits"],
    ["an integer larger than its size", `<dict><key>a</key><integer size="8">256</integer></dict>`, "does not fit in 8 bits"],
    ["bad base64", `<dict><key>a</key><data>@@@@</data></dict>`, "<data> is not valid base64"],
    ["an unknown element", `<dict><key>a</key><float>1</float></dict>`, "unknown element <float>"],
    ["an unterminated comment", `<dict><!-- never closed </dict>`, "unterminated comment"],
    ["content after the plist", `<dict/><dict/>`, "expected </plist>"],
  ];
  for (const [what, body, message] of errors) {
    it(`rejects ${what} with the file, line and column`, () => {
      const error = syntaxError(body);
      expect(error.message).toContain(message);
      expect(error.message).toMatch(/^Test\.kext\/Contents\/Info\.plist: line 4, column \d+: /);
    });
  }
});

describe("IOKit XML", () => {
  it("writes IOCFSerialize's dialect: no prolog, sized hex integers, only < > & escaped", () => {
    const value = newDict();
    value.name = `a<b>&"c'`;
    value.count = 1000n;
    value.negative = -1n;
    value.on = true;
    value.blob = Buffer.from([1, 2, 3]);
    value.list = [];
    expect(serializeIokitXml(value)).toBe(
      `<dict><key>name</key><string>a&lt;b&gt;&amp;"c'</string><key>count</key><integer size="64">0x3e8</integer><key>negative</key><integer size="64">0xffffffffffffffff</integer><key>on</key><true/><key>blob</key><data>AQID</data><key>list</key><array></array></dict>`,
    );
  });

  it("writes repeated values once with an ID and then as IDREFs, never for keys or booleans", () => {
    const shared = ["x"];
    const xml = serializeIokitXml({ a: "same", b: "same", c: true, d: true, e: shared, f: shared, same: 5n, g: 5n } as PlistDict);
    expect(xml).toBe(
      `<dict><key>a</key><string ID="0">same</string><key>b</key><string IDREF="0"/><key>c</key><true/><key>d</key><true/><key>e</key><array ID="1"><string>x</string></array><key>f</key><array IDREF="1"/><key>same</key><integer size="64" ID="2">0x5</integer><key>g</key><integer IDREF="2"/></dict>`,
    );
  });

  it("parses its own output back, resolving IDREFs and size attributes", () => {
    const value = {
      kexts: [
        { id: "com.a", n: 7n, data: Buffer.from("hi") },
        { id: "com.a", n: 7n, flag: false },
      ],
      id: "com.a",
    } as unknown as PlistDict;
    expect(parsePlistXml(serializeIokitXml(value), "mkext plist")).toEqual(value);
  });

  it("reads <set> as a list and rejects references to unknown IDs", () => {
    expect(parsePlistXml(`<dict><key>s</key><set><string ID="1">a</string><string IDREF="1"/></set></dict>`, "p")).toEqual({ s: ["a", "a"] });
    expect(() => parsePlistXml(`<dict><key>s</key><string IDREF="9"/></dict>`, "mkext plist")).toThrow(
      'mkext plist: line 1, column 19: IDREF="9" refers to no earlier ID',
    );
  });

  it("refuses <real> and <date>, which the kernel's parser lacks, naming the key path", () => {
    expect(() => serializeIokitXml({ IOKitPersonalities: { Foo: { Score: 1.5 } } } as unknown as PlistDict)).toThrow(
      "IOKitPersonalities → Foo → Score: <real> cannot be written for the kernel",
    );
    expect(() => serializeIokitXml({ when: new Date(0) } as PlistDict)).toThrow("when: <date>");
  });
});
