/**
 * Issue acceptance (typed /docs), in a real headless Chromium against a real
 * dev session (discovery, watcher, schema thread, emulator and workers, in
 * this process): /docs shows a typed function's input and output types
 * (field names and types), its try-it form is pre-filled with the example,
 * which succeeds when sent; a wrong body is answered 422 with the field's
 * JSON path; and after the type is edited on disk, the page shows the new
 * field by itself. Skips like docs.test.ts when Chromium is absent, unless
 * FLASH_REQUIRE_BROWSER is set.
 */
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import type { Browser, Locator, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startInProcessSession } from "../helpers/dev-session.js";
import type { InProcessSession } from "../helpers/dev-session.js";

const CHROMIUM = "/usr/bin/chromium";
const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];
const browserPresent = existsSync(CHROMIUM);
const browserRequired = Boolean(process.env.FLASH_REQUIRE_BROWSER);

const greet = (field: string): string => `import { remote, CpuLiveServerless } from "flash-ts";
const cpu = new CpuLiveServerless({ name: "docs-typed", workersMax: 1 });

export interface Greeting {
  /** Who to greet. */
  ${field}: string;
  times?: number;
  mood: "happy" | "sad";
}

/**
 * Greets someone.
 *
 * @example {"${field}": "Ada", "mood": "happy", "times": 2}
 */
export const greet = remote(cpu, async (input: Greeting): Promise<{ text: string; count: number }> => ({
  text: \`\${input.mood} hello \${input.${field}}\`,
  count: input.times ?? 1,
}));
`;

const ITEMS = `import { Endpoint, CpuInstanceType } from "flash-ts";
const api = new Endpoint({ name: "docs-items", cpu: CpuInstanceType.CPU3C_2_4, workers: [0, 1] });

/** Lists items. */
export const list = api.get("/items", async (input: { limit: number; tag?: string }) => ({ limit: input.limit, type: typeof input.limit }));
`;

describe.skipIf(!browserPresent && !browserRequired)("/docs with typed functions (Chromium)", () => {
  let dir: string;
  let session: InProcessSession;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];
  const op = (path: string): Locator => page.locator("details.op", { has: page.locator(".op__path", { hasText: new RegExp(`^${path.replace(/[/{}]/g, "\\$&")}$`) }) });

  beforeAll(async () => {
    if (!browserPresent) throw new Error(`FLASH_REQUIRE_BROWSER is set but ${CHROMIUM} does not exist (apt-get install chromium)`);
    dir = await mkdtemp(join(tmpdir(), "flash-docs-typed-"));
    await writeFile(join(dir, "greet.ts"), greet("name"));
    await writeFile(join(dir, "items.ts"), ITEMS);
    session = await startInProcessSession(dir);
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
    page = await browser.newPage();
    page.on("console", (msg) => {
      // Chromium logs every non-2xx fetch; the 422 the test provokes is expected.
      if (msg.type() === "error" && !/status of 422/.test(msg.text())) problems.push(msg.text());
    });
    page.on("pageerror", (err) => problems.push(err.message));
    await page.goto(`${session.url}/docs`);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await session?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("shows a typed function's summary, input fields and output with their types", async () => {
    const greetOp = op("/greet/run_sync");
    // The types arrive after the routes: the page redraws with them (the schemas event).
    await greetOp.locator("[data-role=input]").waitFor({ state: "attached", timeout: 60_000 });
    await greetOp.locator("summary").click();
    expect(await greetOp.locator(".op__name").textContent()).toContain("Greets someone.");
    const input = greetOp.locator("[data-role=input]");
    const row = (name: string): Locator => input.locator(".schema__line", { has: page.locator(".schema__name", { hasText: new RegExp(`^${name}$`) }) });
    expect(await input.locator(".schema__type").first().textContent()).toBe("Greeting");
    expect(await row("name").locator(".schema__type").textContent()).toBe("string");
    expect(await row("name").textContent()).toContain("required");
    expect(await row("name").textContent()).toContain("Who to greet.");
    expect(await row("times").locator(".schema__type").textContent()).toBe("number");
    expect(await row("times").textContent()).not.toContain("required");
    expect(await row("mood").locator(".schema__type").textContent()).toBe('"happy" | "sad"');
    const output = greetOp.locator("[data-role=output]");
    expect(await output.locator(".schema__name").allTextContents()).toEqual(["text", "count"]);
    expect(await output.locator(".schema__type").allTextContents()).toEqual(["object", "string", "number"]);
  });

  it("pre-fills Try it with the @example, and sending it succeeds", async () => {
    const greetOp = op("/greet/run_sync");
    const body = greetOp.getByLabel("Request body (JSON)");
    expect(JSON.parse(await body.inputValue())).toEqual({ input: { name: "Ada", mood: "happy", times: 2 } });
    await greetOp.getByRole("button", { name: "Send request" }).click();
    await greetOp.locator("[data-role=status]").filter({ hasText: "200" }).waitFor();
    const response = JSON.parse((await greetOp.locator("[data-role=body]").textContent()) ?? "") as { output: unknown };
    expect(response.output).toEqual({ text: "happy hello Ada", count: 2 });
  });

  it("shows the 422 of a body that does not match, with the field's JSON path", async () => {
    const greetOp = op("/greet/run_sync");
    await greetOp.getByLabel("Request body (JSON)").fill('{"input": {"name": 7, "mood": "happy"}}');
    await greetOp.getByRole("button", { name: "Send request" }).click();
    await greetOp.locator("[data-role=status]").filter({ hasText: "422" }).waitFor();
    const text = (await greetOp.locator("[data-role=body]").textContent()) ?? "";
    expect(text).toContain("INVALID_INPUT");
    expect(text).toContain('"path": "$.input.name"');
  });

  it("types a GET's query parameters, pre-filled, and the function receives a number", async () => {
    const listOp = op("/items/items");
    await listOp.locator("summary").click();
    const params = listOp.locator("[data-role=parameters]");
    expect(await params.locator(".schema__name").allTextContents()).toEqual(["limit", "tag"]);
    expect(await params.locator(".schema__type").allTextContents()).toEqual(["number", "string"]);
    expect(await listOp.getByLabel("Query parameter name").evaluateAll((els) => els.map((el) => (el as unknown as { value: string }).value))).toEqual(["limit", "tag"]);
    await listOp.getByRole("button", { name: "Send request" }).click();
    await listOp.locator("[data-role=status]").filter({ hasText: "200" }).waitFor();
    expect(JSON.parse((await listOp.locator("[data-role=body]").textContent()) ?? "")).toEqual({ limit: 0, type: "number" });
  });

  it("shows the new field after the type is edited on disk, with no click", async () => {
    await writeFile(join(dir, "greet.ts"), greet("who"));
    const greetOp = op("/greet/run_sync");
    await greetOp.locator("[data-role=input] .schema__name", { hasText: /^who$/ }).waitFor({ timeout: 60_000 });
    expect(await greetOp.locator("[data-role=input] .schema__name").allTextContents()).toEqual(["who", "times", "mood"]);
    // The form was open and its body edited: both survive the redraw.
    expect(await greetOp.getAttribute("open")).not.toBeNull();
    expect(await greetOp.getByLabel("Request body (JSON)").inputValue()).toBe('{"input": {"name": 7, "mood": "happy"}}');
  });

  it("loaded without console errors (CSP, scripts)", async () => {
    if (process.env.FLASH_DOCS_SCREENSHOT) await page.screenshot({ path: process.env.FLASH_DOCS_SCREENSHOT, fullPage: true });
    expect(problems).toEqual([]);
  });
});
