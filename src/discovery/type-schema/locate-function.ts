/**
 * Finds the function behind a remote export, statically: the signature whose
 * first parameter is the input and whose (awaited) return type is the
 * output, and the JSDoc that documents it.
 *
 * - `export const f = remote(cfg, opts, fn)` (and any wrapper call whose
 *   last argument is the function, such as `api.post("/p", fn)` or
 *   `Endpoint(cfg)(fn)`): the function passed last, so its own parameter
 *   types are used even when the wrapper's types cannot be resolved;
 * - otherwise the call signature of the exported value's type (what the
 *   SDK's `RemoteFunction<F>` wrapper declares);
 * - `@remote` classes: the named method of the class.
 */
import ts from "typescript";

/** The function behind one export. */
export interface LocatedFunction {
  signature: ts.Signature;
  /** Where the JSDoc is read from, best first (the export, then the function itself). */
  docSymbols: ts.Symbol[];
  /** A node inside the function, to resolve types at. */
  node: ts.Node;
}

function skipOuter(expr: ts.Expression): ts.Expression {
  let e = expr;
  while (ts.isParenthesizedExpression(e) || ts.isAsExpression(e) || ts.isSatisfiesExpression(e) || ts.isNonNullExpression(e) || ts.isTypeAssertionExpression(e)) e = e.expression;
  return e;
}

function firstCallSignature(checker: ts.TypeChecker, type: ts.Type): ts.Signature | undefined {
  const signatures = checker.getSignaturesOfType(type, ts.SignatureKind.Call);
  // Overloads: the last one is the most general.
  return signatures[signatures.length - 1];
}

/** The function an expression stands for: a function literal, the last argument of a wrapper call, or any callable value. */
function functionOfExpression(checker: ts.TypeChecker, expression: ts.Expression, depth = 0): LocatedFunction | undefined {
  const expr = skipOuter(expression);
  if (ts.isArrowFunction(expr) || ts.isFunctionExpression(expr)) {
    const signature = checker.getSignatureFromDeclaration(expr);
    const own = expr.name ? checker.getSymbolAtLocation(expr.name) : undefined;
    return signature ? { signature, docSymbols: own ? [own] : [], node: expr } : undefined;
  }
  if (ts.isCallExpression(expr) && depth < 8) {
    const last = expr.arguments[expr.arguments.length - 1];
    if (last) {
      const inner = functionOfExpression(checker, last, depth + 1);
      if (inner) return inner;
    }
  }
  if (depth > 0 && !ts.isIdentifier(expr) && !ts.isPropertyAccessExpression(expr) && !ts.isCallExpression(expr)) return undefined;
  const signature = firstCallSignature(checker, checker.getTypeAtLocation(expr));
  if (!signature) return undefined;
  const referenced = ts.isIdentifier(expr) || ts.isPropertyAccessExpression(expr) ? checker.getSymbolAtLocation(expr) : undefined;
  const target = referenced && referenced.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(referenced) : referenced;
  return { signature, docSymbols: target ? [target] : [], node: expr };
}

/** Locates `exportName` (and `method`, for classes) in `sourceFile`; a string says why it could not. */
export function locateFunction(checker: ts.TypeChecker, sourceFile: ts.SourceFile, exportName: string, method?: string): LocatedFunction | string {
  const moduleSymbol = checker.getSymbolAtLocation(sourceFile);
  if (!moduleSymbol) return "the file has no exports";
  const exported = checker.getExportsOfModule(moduleSymbol).find((s) => s.getName() === exportName);
  if (!exported) return `the file has no export named "${exportName}"`;
  const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;

  if (method !== undefined) {
    const instanceType = checker.getDeclaredTypeOfSymbol(symbol);
    const member = checker.getPropertyOfType(instanceType, method);
    if (!member) return `class ${exportName} has no method "${method}"`;
    const signature = firstCallSignature(checker, checker.getTypeOfSymbol(member));
    if (!signature) return `${exportName}.${method} is not a method`;
    // Only the method's own JSDoc: the class's describes the class, not each method.
    return { signature, docSymbols: [member], node: member.valueDeclaration ?? sourceFile };
  }

  const docs = exported === symbol ? [symbol] : [exported, symbol];
  for (const decl of symbol.getDeclarations() ?? []) {
    if (ts.isVariableDeclaration(decl) && decl.initializer) {
      const found = functionOfExpression(checker, decl.initializer);
      if (found) return { ...found, docSymbols: [...docs, ...found.docSymbols] };
    }
    if (ts.isExportAssignment(decl)) {
      const found = functionOfExpression(checker, decl.expression);
      if (found) return { ...found, docSymbols: [...docs, ...found.docSymbols] };
    }
    if (ts.isFunctionDeclaration(decl)) {
      const signature = checker.getSignatureFromDeclaration(decl);
      if (signature) return { signature, docSymbols: docs, node: decl };
    }
  }
  const signature = firstCallSignature(checker, checker.getTypeOfSymbol(symbol));
  if (!signature) return `export "${exportName}" is not a function`;
  return { signature, docSymbols: docs, node: symbol.valueDeclaration ?? sourceFile };
}
