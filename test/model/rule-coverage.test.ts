/**
 * Every validation rule has a test that asserts the message a user sees. A rule is a `report(field,
 * message)` call or a `{ field, message }` problem in lib/model, or the message of a `.regex()` or
 * `.refine()` in the schema; its message's literal text (the parts between `${…}`) must appear in
 * the string literals of one test file under test/. A new rule without such a test fails here,
 * whoever adds it.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { PROJECT_DIR } from "../support/pulumi-harness";

const MODEL_DIR = join(PROJECT_DIR, "lib", "model");
const TEST_DIR = join(PROJECT_DIR, "test");
/** Literal pieces shorter than this ("-", ", ", " (") say nothing about which message a test asserts. */
const MIN_PIECE = 4;

interface Rule {
  /** `lib/model/validate.ts:123`, where the message is written. */
  readonly where: string;
  /** The message's literal text, in order; a test must hold each. */
  readonly pieces: readonly string[];
}

function parse(path: string): ts.SourceFile {
  return ts.createSourceFile(path, readFileSync(path, "utf8"), ts.ScriptTarget.Latest, true);
}

function visit(node: ts.Node, each: (node: ts.Node) => void): void {
  each(node);
  node.forEachChild((child) => visit(child, each));
}

/** The literal text of a message expression, one list per way it can read (each branch of a `?:`); undefined when it is not written inline. */
function messageVariants(expression: ts.Expression): string[][] | undefined {
  if (ts.isParenthesizedExpression(expression)) return messageVariants(expression.expression);
  if (ts.isStringLiteral(expression) || ts.isNoSubstitutionTemplateLiteral(expression)) return [[expression.text]];
  if (ts.isTemplateExpression(expression)) return [[expression.head.text, ...expression.templateSpans.map((span) => span.literal.text)]];
  if (ts.isBinaryExpression(expression) && expression.operatorToken.kind === ts.SyntaxKind.PlusToken) {
    const left = messageVariants(expression.left);
    const right = messageVariants(expression.right);
    if (!left || !right) return undefined;
    // The text where the two parts meet reads as one piece.
    return left.flatMap((head) => right.map((tail) => [...head.slice(0, -1), `${head.at(-1)!}${tail[0]!}`, ...tail.slice(1)]));
  }
  if (ts.isConditionalExpression(expression)) {
    const whenTrue = messageVariants(expression.whenTrue);
    const whenFalse = messageVariants(expression.whenFalse);
    return whenTrue && whenFalse ? [...whenTrue, ...whenFalse] : undefined;
  }
  return undefined;
}

function rulesIn(path: string): { rules: Rule[]; unreadable: string[] } {
  const source = parse(path);
  const rules: Rule[] = [];
  const unreadable: string[] = [];
  const add = (message: ts.Expression) => {
    const where = `${relative(PROJECT_DIR, path)}:${source.getLineAndCharacterOfPosition(message.getStart()).line + 1}`;
    const variants = messageVariants(message);
    if (!variants) unreadable.push(where);
    for (const pieces of variants ?? []) rules.push({ where, pieces: pieces.map((piece) => piece.trim()).filter((piece) => piece.length >= MIN_PIECE) });
  };
  visit(source, (node) => {
    if (ts.isCallExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === "report" && node.arguments.length === 2) {
      add(node.arguments[1]!);
    }
    // A schema rule: `.regex(pattern, message)` or `.refine(check, message)`; without a message the user reads zod's "must match pattern".
    if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression) && ["regex", "refine"].includes(node.expression.name.text)) {
      if (node.arguments.length === 2) add(node.arguments[1]!);
      else unreadable.push(`${relative(PROJECT_DIR, path)}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1} (no message)`);
    }
    if (ts.isObjectLiteralExpression(node)) {
      const property = (name: string) =>
        node.properties.find(
          (candidate) => (ts.isPropertyAssignment(candidate) || ts.isShorthandPropertyAssignment(candidate)) && candidate.name.getText() === name,
        );
      const message = property("message");
      // `{ field, message: issue.message }` passes a schema message on: the schema's own rules are read above.
      const passedOn = message && ts.isPropertyAssignment(message) && ts.isPropertyAccessExpression(message.initializer);
      if (property("field") && message && ts.isPropertyAssignment(message) && !passedOn) add(message.initializer);
    }
  });
  return { rules, unreadable };
}

function filesUnder(dir: string, suffix: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((entry) => entry.endsWith(suffix))
    .map((entry) => join(dir, entry));
}

/** Every string literal and template piece of a test file, as the test compares it (escapes resolved). */
function literalsOf(path: string): string[] {
  const literals: string[] = [];
  visit(parse(path), (node) => {
    if (ts.isStringLiteralLike(node) || ts.isTemplateHead(node) || ts.isTemplateMiddle(node) || ts.isTemplateTail(node)) literals.push(node.text);
  });
  return literals;
}

const modelFiles = filesUnder(MODEL_DIR, ".ts");
const found = modelFiles.map(rulesIn);
const rules = found.flatMap((file) => file.rules);
const tests = filesUnder(TEST_DIR, ".test.ts")
  .filter((path) => path !== __filename)
  .map((path) => ({ path, literals: literalsOf(path) }));

function coveredBy(rule: Rule): string | undefined {
  return tests.find((test) => rule.pieces.every((piece) => test.literals.some((literal) => literal.includes(piece))))?.path;
}

describe("every validation rule in lib/model has a test asserting its message", () => {
  it("finds the rules (the scan still reads lib/model)", () => {
    expect(rules.length).toBeGreaterThan(50);
    expect(rules.some((rule) => rule.where.startsWith("lib/model/validate.ts"))).toBe(true);
  });

  it("can read every message: each is written inline where it is reported", () => {
    expect(found.flatMap((file) => file.unreadable)).toEqual([]);
  });

  it("has a test for each rule", () => {
    const uncovered = rules.filter((rule) => !coveredBy(rule)).map((rule) => `${rule.where}: ${rule.pieces.join(" … ")}`);
    expect(uncovered).toEqual([]);
  });
});
