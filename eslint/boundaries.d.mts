// Types of eslint/boundaries.mjs, for the test that checks the doc against it.
import type { ESLint } from "eslint";

export interface AreaRule {
  value?: readonly string[];
  type?: readonly string[];
  lazy?: readonly string[];
}
export declare const AREA_RULES: Readonly<Record<string, AreaRule>>;
export declare const PACKAGE_RULES: Readonly<Record<string, readonly string[]>>;
export declare function judgeImport(fromArea: string, target: { area: string; file: string }, kind: "value" | "type" | "lazy"): string | undefined;
declare const plugin: ESLint.Plugin;
export default plugin;
