// Lint rules: typescript-eslint's recommended set plus the few rules that
// catch the bugs a dev server is prone to (floating promises, unused values).
import js from "@eslint/js";
import tseslint from "typescript-eslint";
import boundaries from "./eslint/boundaries.mjs";

export default tseslint.config(
  {
    ignores: ["dist/**", "node_modules/**", "coverage/**", "test/fixtures/**", "examples/**/node_modules/**", "examples/**/.runpod/**", "**/.runpod/**", "assets/**"],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["src/**/*.ts", "test/**/*.ts", "bench/**/*.ts"],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" }],
      "@typescript-eslint/consistent-type-imports": "error",
      "@typescript-eslint/no-explicit-any": "error",
      "no-console": "off",
    },
  },
  {
    // Who may import whom inside src/ (docs/internals.md, "Layout and who may
    // import whom"); eslint/boundaries.mjs says why it is a rule of our own.
    files: ["src/**/*.ts"],
    plugins: { boundaries },
    rules: { "boundaries/imports": "error" },
  },
  {
    files: ["**/*.js", "**/*.mjs"],
    languageOptions: {
      globals: { process: "readonly", console: "readonly", URL: "readonly", setTimeout: "readonly", clearTimeout: "readonly", Buffer: "readonly", globalThis: "readonly", fetch: "readonly", AbortController: "readonly", performance: "readonly", setInterval: "readonly", clearInterval: "readonly" },
    },
  },
);
