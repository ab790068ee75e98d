/**
 * The /docs page in a real headless Chromium (Debian's, driven by
 * playwright-core; no browser is downloaded). Skips when /usr/bin/chromium
 * is missing, unless FLASH_REQUIRE_BROWSER is set, which turns a missing
 * browser into a failure.
 */
import { existsSync } from "node:fs";
import { chromium } from "playwright-core";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEventStream } from "../../src/server/event-stream.js";
import { standardFunctions, startTestServer } from "../helpers/server-fixtures.js";
import type { TestServer } from "../helpers/server-fixtures.js";

const CHROMIUM = "/usr/bin/chromium";
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const browserPresent = existsSync(CHROMIUM);
const browserRequired = Boolean(process.env.FLASH_REQUIRE_BROWSER);

describe.skipIf(!browserPresent && !browserRequired)("/docs in Chromium", () => {
  let server: TestServer;
  const events = createEventStream();
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];

  beforeAll(async () => {
    if (!browserPresent) throw new Error(`FLASH_REQUIRE_BROWSER is set but ${CHROMIUM} does not exist (apt-get install chromium)`);
    // The page listens to the event stream; docs-live.test.ts tests what it does with it.
    server = await startTestServer({ eventStream: events });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
    page = await browser.newPage();
    // CSP violations and script errors surface here
    page.on("console", (msg) => {
      // Chromium logs every non-2xx fetch; the 422 the tests provoke is expected.
      if (msg.type() === "error" && !/status of 4\d\d/.test(msg.text())) problems.push(msg.text());
    });
    page.on("pageerror", (err) => problems.push(err.message));
    await page.goto(`${server.url}/docs`);
  });

  afterAll(async () => {
    await browser?.close();
    events.close();
    await server?.close();
  });

  it("lists every route, grouped by file", async () => {
    for (const file of ["gpu_worker.ts", "lb_worker.ts", "multi.ts", "tools/local.ts", "Dev server"]) {
      await page.getByRole("heading", { name: file, exact: true }).waitFor();
    }
    const shown = await page.locator(".op__path").allTextContents();
    for (const f of standardFunctions()) expect(shown).toContain(f.route.path.replace(/:(\w+)/g, "{$1}"));
    // aliases are folded into their route, not listed twice
    expect(shown).not.toContain("/gpu_worker/runsync");
    expect(await page.locator(".op", { hasText: "/gpu_worker/run_sync" }).textContent()).toContain("/gpu_worker/runsync");
    expect(await page.locator("#status").textContent()).toBe(`${standardFunctions().length} routes`);
  });

  it("sends a QB request from Try it and shows status, time and response", async () => {
    const op = page.locator("details.op", { has: page.locator(".op__path", { hasText: /^\/gpu_worker\/run_sync$/ }) });
    await op.locator("summary").click();
    const body = op.getByLabel("Request body (JSON)");
    expect(JSON.parse(await body.inputValue())).toEqual({ input: {} });
    await body.fill('{"input": {"message": "from the browser ✓"}}');
    await op.getByRole("button", { name: "Send request" }).click();
    const status = op.locator("[data-role=status]");
    await status.filter({ hasText: "200" }).waitFor();
    expect(await op.locator("[data-role=time]").textContent()).toMatch(/^\d+ ms$/);
    const response = JSON.parse((await op.locator("[data-role=body]").textContent()) ?? "") as { status: string; output: { input: unknown } };
    expect(response.status).toBe("COMPLETED");
    expect(response.output.input).toEqual({ message: "from the browser ✓" });
    expect(server.invoker.calls.at(-1)?.input).toEqual({ message: "from the browser ✓" });
  });

  it("checks the JSON before sending and renders error responses", async () => {
    const op = page.locator("details.op", { has: page.locator(".op__path", { hasText: /^\/multi\/first\/run_sync$/ }) });
    await op.locator("summary").click();
    const calls = server.invoker.calls.length;
    await op.getByLabel("Request body (JSON)").fill('{"input": ');
    await op.getByRole("button", { name: "Send request" }).click();
    await op.getByRole("alert").filter({ hasText: "not valid JSON" }).waitFor();
    expect(server.invoker.calls.length).toBe(calls);

    await op.getByLabel("Request body (JSON)").fill("[1, 2]");
    await op.getByRole("button", { name: "Send request" }).click();
    await op.locator("[data-role=status]").filter({ hasText: "422" }).waitFor();
    expect(await op.locator("[data-role=body]").textContent()).toContain("INVALID_BODY");
  });

  it("fills path and query parameters for an LB GET", async () => {
    const op = page.locator("details.op", { has: page.locator(".op__path", { hasText: /^\/lb_worker\/items\/\{id\}$/ }) }).first();
    await op.locator("summary").click();
    await op.getByLabel("id", { exact: true }).fill("a b");
    await op.getByLabel("Query parameter name").first().fill("color");
    await op.getByLabel("Query parameter value").first().fill("blue");
    await op.getByRole("button", { name: "Send request" }).click();
    await op.locator("[data-role=status]").filter({ hasText: "200" }).waitFor();
    expect(server.invoker.calls.at(-1)?.input).toEqual({ id: "a b", color: "blue" });
  });

  it("filters routes", async () => {
    await page.getByLabel("Filter routes").fill("multi");
    await page.locator(".group", { hasText: "lb_worker.ts" }).waitFor({ state: "hidden" });
    expect(await page.locator(".op:visible").count()).toBe(2);
    await page.getByLabel("Filter routes").fill("");
  });

  it("loaded without console errors (CSP, scripts)", async () => {
    if (process.env.FLASH_DOCS_SCREENSHOT) await page.screenshot({ path: process.env.FLASH_DOCS_SCREENSHOT, fullPage: true });
    expect(problems).toEqual([]);
  });
});
