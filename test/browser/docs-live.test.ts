/**
 * The /docs page redraws itself after a reload: a real dev session (real
 * discovery, watcher and server, in this process) serves a project, Chromium
 * shows /docs, a file is added and then removed on disk, and the page shows
 * and drops its route without anyone clicking. Skips like docs.test.ts when
 * Chromium is absent, unless FLASH_REQUIRE_BROWSER is set.
 */
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startInProcessSession } from "../helpers/dev-session.js";
import type { InProcessSession } from "../helpers/dev-session.js";

const CHROMIUM = "/usr/bin/chromium";
const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];
const browserPresent = existsSync(CHROMIUM);
const browserRequired = Boolean(process.env.FLASH_REQUIRE_BROWSER);

const worker = (name: string): string => `import { remote, CpuLiveServerless } from "flash-ts";
export const run = remote(new CpuLiveServerless({ name: ${JSON.stringify(name)} }), async () => ({ ok: true }));
`;

describe.skipIf(!browserPresent && !browserRequired)("/docs redraws itself after a reload (Chromium)", () => {
  let dir: string;
  let session: InProcessSession;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];

  beforeAll(async () => {
    if (!browserPresent) throw new Error(`FLASH_REQUIRE_BROWSER is set but ${CHROMIUM} does not exist (apt-get install chromium)`);
    dir = await mkdtemp(join(tmpdir(), "flash-docs-live-"));
    await writeFile(join(dir, "first.ts"), worker("first"));
    session = await startInProcessSession(dir);
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
    page = await browser.newPage();
    page.on("console", (msg) => {
      if (msg.type() === "error") problems.push(msg.text());
    });
    page.on("pageerror", (err) => problems.push(err.message));
    await page.goto(`${session.url}/docs`);
    await page.locator(".op__path", { hasText: "/first/run_sync" }).waitFor();
  });

  afterAll(async () => {
    await browser?.close();
    await session?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("shows a route added on disk, with no click and no focus change, keeping open forms", async () => {
    // The form the reader opened, and what they typed in it, survive the redraw.
    const first = page.locator("details.op", { hasText: "/first/run_sync" });
    await first.locator("summary").click();
    await first.getByLabel("Request body (JSON)").fill('{"input": {"typed": "before the reload"}}');
    await writeFile(join(dir, "second.ts"), worker("second"));
    await page.locator(".op__path", { hasText: "/second/run_sync" }).waitFor({ timeout: 30_000 });
    expect(await page.locator("#status").textContent()).toBe("2 routes");
    expect(await first.getAttribute("open")).not.toBeNull();
    expect(await first.getByLabel("Request body (JSON)").inputValue()).toBe('{"input": {"typed": "before the reload"}}');
  });

  it("drops a route removed on disk", async () => {
    expect(await page.locator(".op__path", { hasText: "/second/run_sync" }).count()).toBe(1);
    await rm(join(dir, "second.ts"));
    await page.locator(".op__path", { hasText: "/second/run_sync" }).waitFor({ state: "detached", timeout: 30_000 });
    expect(await page.locator("#status").textContent()).toBe("1 route");
  });

  it("offers no reload button, and shows no errors", async () => {
    expect(await page.getByRole("button", { name: /new routes/i }).count()).toBe(0);
    expect(problems).toEqual([]);
  });
});
