/**
 * Which files a function's schemas can depend on: its own file and,
 * transitively, every module it imports (import and export declarations,
 * `import("…")` types and calls), as resolved by the program. An extraction
 * reuses a function's previous schemas when none of these files changed.
 *
 * Global declarations escape imports (a script or `declare global` in any
 * file can change any type), so a changed file that has them invalidates
 * everything: see {@link hasGlobalEffect}.
 */
import ts from "typescript";

interface FileImports {
  files: string[];
  /** Some import did not resolve: a file created later may satisfy it. */
  unresolved: boolean;
}

/** The modules one file refers to; cached per parsed file (a SourceFile object is replaced when its file changes). */
const directImports = new WeakMap<ts.SourceFile, FileImports>();

function moduleFileOf(checker: ts.TypeChecker, specifier: ts.Node): string | undefined {
  const symbol = checker.getSymbolAtLocation(specifier);
  const decl = symbol?.valueDeclaration ?? symbol?.getDeclarations()?.[0];
  return decl && ts.isSourceFile(decl) ? decl.fileName : undefined;
}

function importsOf(checker: ts.TypeChecker, file: ts.SourceFile): FileImports {
  const cached = directImports.get(file);
  if (cached) return cached;
  const out = new Set<string>();
  let unresolved = false;
  const visit = (node: ts.Node): void => {
    let specifier: ts.Node | undefined;
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier) specifier = node.moduleSpecifier;
    else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) specifier = node.argument.literal;
    else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0]) specifier = node.arguments[0];
    else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) specifier = node.moduleReference.expression;
    if (specifier && ts.isStringLiteralLike(specifier)) {
      const target = moduleFileOf(checker, specifier);
      if (target) out.add(target);
      else unresolved = true;
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  const imports = { files: [...out], unresolved };
  directImports.set(file, imports);
  return imports;
}

/** The files a module depends on. */
export interface ModuleClosure {
  /** The file and every file it reaches through imports. */
  files: Set<string>;
  /** One of them has an import that does not resolve (yet): any new file may change the result. */
  open: boolean;
}

/** `file` and every file it reaches through imports. */
export function moduleClosure(program: ts.Program, checker: ts.TypeChecker, fileName: string): ModuleClosure {
  const files = new Set<string>();
  let open = false;
  const stack = [fileName];
  while (stack.length > 0) {
    const name = stack.pop()!;
    if (files.has(name)) continue;
    files.add(name);
    const file = program.getSourceFile(name);
    if (!file) continue;
    const imports = importsOf(checker, file);
    open ||= imports.unresolved;
    stack.push(...imports.files);
  }
  return { files, open };
}

/** True when a file can change types outside its own module: a script (no imports or exports) or one with `declare global` / `declare module`. */
export function hasGlobalEffect(file: ts.SourceFile): boolean {
  if (!ts.isExternalModule(file)) return true;
  return file.statements.some((s) => ts.isModuleDeclaration(s) && (s.flags & ts.NodeFlags.GlobalAugmentation || ts.isStringLiteral(s.name)));
}
