#!/usr/bin/env node
// Finds wall-clock upper bounds under 5 s in the test files: an elapsed time asserted below a
// figure, and waits that give up sooner (vi.waitFor's 1 s default, a `timeout` under 5 s, the
// harness's waitFor, a test's own timeout). On a busy two-core CI machine these fail for reasons
// the code under test does not control; a test waits for its condition and asserts behaviour,
// and speed goals live in the benchmarks. Exceptions are listed with their reason in
// scripts/test-allowances.json. `node scripts/check-test-timing.mjs` prints file:line for each
// and exits 1; scripts/test.mjs runs it with `npm test`.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';

export const MIN_BOUND_MS = 5_000;

/** Words that make an asserted value an elapsed time. */
const TIME_LIKE =
  /Date\.now\(\)|performance\.now\(\)|hrtime|elapsed|duration|latenc|slowest|[tT]imed|[a-z]After\b|[a-z]Ms\b|\bms\b|[a-z]At\b|\.at\b|[tT]ime\b/;
/** Calls whose options' `timeout` is how long a wait may take. */
const WAIT_CALL = /^(waitFor\w*|poll|to[A-Z]\w*)$/;

/** The value of a numeric expression made of literals and the file's top-level constants, or undefined. */
function evaluate(node, constants, depth = 0) {
  if (depth > 10 || node === undefined) return undefined;
  if (ts.isNumericLiteral(node)) return Number(node.text.replaceAll('_', ''));
  if (ts.isParenthesizedExpression(node)) return evaluate(node.expression, constants, depth + 1);
  if (ts.isIdentifier(node)) return evaluate(constants.get(node.text), constants, depth + 1);
  if (ts.isCallExpression(node) && node.expression.getText() === 'Number' && node.arguments.length === 1) {
    // `Number(process.env.X ?? 90_000)`: the default is the figure in `npm test`.
    const argument = node.arguments[0];
    if (ts.isBinaryExpression(argument) && argument.operatorToken.kind === ts.SyntaxKind.QuestionQuestionToken)
      return evaluate(argument.right, constants, depth + 1);
    return evaluate(argument, constants, depth + 1);
  }
  if (ts.isBinaryExpression(node)) {
    const [left, right] = [evaluate(node.left, constants, depth + 1), evaluate(node.right, constants, depth + 1)];
    if (left === undefined || right === undefined) return undefined;
    switch (node.operatorToken.kind) {
      case ts.SyntaxKind.PlusToken:
        return left + right;
      case ts.SyntaxKind.MinusToken:
        return left - right;
      case ts.SyntaxKind.AsteriskToken:
        return left * right;
      case ts.SyntaxKind.SlashToken:
        return left / right;
      default:
        return undefined;
    }
  }
  return undefined;
}

/** The argument of `expect(...)` at the start of a matcher chain, if the chain starts with one. */
function expectSubject(node) {
  let current = node;
  while (ts.isPropertyAccessExpression(current) || ts.isCallExpression(current)) {
    if (ts.isCallExpression(current) && ts.isIdentifier(current.expression) && current.expression.text === 'expect')
      return current.arguments[0];
    current = current.expression;
  }
  return undefined;
}

const calleeName = (call) =>
  ts.isIdentifier(call.expression) ? call.expression.text : ts.isPropertyAccessExpression(call.expression) ? call.expression.name.text : '';

/** Every wall-clock bound under 5 s in one test file's source: `{ line, text, why }`. */
export function findTimingBounds(fileName, source) {
  const file = ts.createSourceFile(
    fileName,
    source,
    ts.ScriptTarget.Latest,
    true,
    fileName.endsWith('x') ? ts.ScriptKind.TSX : ts.ScriptKind.TS,
  );
  const constants = new Map();
  for (const statement of file.statements) {
    if (!ts.isVariableStatement(statement)) continue;
    for (const declaration of statement.declarationList.declarations) {
      if (ts.isIdentifier(declaration.name) && declaration.initializer) constants.set(declaration.name.text, declaration.initializer);
    }
  }
  const found = [];
  const report = (node, why) => {
    const { line } = file.getLineAndCharacterOfPosition(node.getStart());
    found.push({ line: line + 1, text: source.split('\n')[line].trim(), why });
  };
  const under = (node) => {
    const value = evaluate(node, constants);
    return value === undefined || value < MIN_BOUND_MS ? value : false;
  };
  const visit = (node) => {
    if (ts.isCallExpression(node)) {
      const name = calleeName(node);
      if ((name === 'toBeLessThan' || name === 'toBeLessThanOrEqual') && ts.isPropertyAccessExpression(node.expression)) {
        const subject = expectSubject(node.expression.expression);
        if (subject !== undefined && TIME_LIKE.test(subject.getText())) {
          const bound = under(node.arguments[0]);
          if (bound !== false) report(node, `an elapsed time asserted under ${bound ?? 'a figure this check cannot evaluate'} ms`);
        }
      }
      if (name === 'waitFor' && ts.isPropertyAccessExpression(node.expression) && node.expression.expression.getText() === 'vi') {
        const options = node.arguments[1];
        if (options === undefined) report(node, 'vi.waitFor without a timeout gives up after 1 s');
        else if (!ts.isObjectLiteralExpression(options)) {
          const bound = under(options);
          if (bound !== false) report(node, `vi.waitFor gives up after ${bound ?? '(cannot evaluate)'} ms`);
        }
      } else if (name === 'waitFor' && ts.isIdentifier(node.expression) && node.arguments.length >= 3) {
        const bound = under(node.arguments[2]);
        if (bound !== false) report(node, `waitFor gives up after ${bound ?? '(cannot evaluate)'} ms`);
      }
      if ((name === 'it' || name === 'test' || name === 'each') && node.arguments.length >= 3) {
        // it(name, fn, timeout) or it(name, { timeout }, fn)
        const [, second, third] = node.arguments;
        const timeout = ts.isObjectLiteralExpression(second)
          ? second.properties.find((p) => ts.isPropertyAssignment(p) && p.name.getText() === 'timeout')?.initializer
          : ts.isArrowFunction(third) || ts.isFunctionExpression(third)
            ? undefined
            : third;
        const bound = timeout === undefined ? false : under(timeout);
        if (bound !== false) report(node, `a test timeout of ${bound ?? '(cannot evaluate)'} ms`);
      }
      if (WAIT_CALL.test(name)) {
        for (const argument of node.arguments) {
          if (!ts.isObjectLiteralExpression(argument)) continue;
          for (const property of argument.properties) {
            if (!ts.isPropertyAssignment(property) || property.name.getText() !== 'timeout') continue;
            const bound = under(property.initializer);
            if (bound !== false) report(property, `${name} gives up after ${bound ?? '(cannot evaluate)'} ms`);
          }
        }
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return found;
}

export const allowancesFile = join(new URL('..', import.meta.url).pathname, 'scripts', 'test-allowances.json');

/** The bounds allowed on purpose: `{ file, contains, reason }`, a line of `file` containing `contains`. */
export function timingAllowances() {
  return JSON.parse(readFileSync(allowancesFile, 'utf8')).timing;
}

/** Every bound in the repository's test files that no allowance covers, as `file:line: why: text`. */
export function checkRepository(root = new URL('..', import.meta.url).pathname) {
  const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '*.test.ts', '*.test.tsx', '*.spec.ts'], {
    cwd: root,
    encoding: 'utf8',
  })
    .split('\n')
    .filter(Boolean);
  const allowed = timingAllowances();
  const problems = [];
  for (const file of files) {
    let source;
    try {
      source = readFileSync(join(root, file), 'utf8');
    } catch {
      continue; // deleted in the work tree
    }
    for (const bound of findTimingBounds(file, source)) {
      if (allowed.some((entry) => entry.file === file && bound.text.includes(entry.contains))) continue;
      problems.push(`${file}:${bound.line}: ${bound.why}: ${bound.text}`);
    }
  }
  return problems;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const problems = checkRepository();
  for (const problem of problems) console.log(problem);
  if (problems.length > 0) {
    console.log(
      `${problems.length} wall-clock bound(s) under ${MIN_BOUND_MS} ms in tests: wait for the condition instead, or list it with its reason in scripts/test-allowances.json`,
    );
    process.exit(1);
  }
  console.log(`no wall-clock bound under ${MIN_BOUND_MS} ms in the tests`);
}
