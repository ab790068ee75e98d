/**
 * Pages on other origins calling the dev server's function routes, in a real
 * headless Chromium (see docs.test.ts for how it is found). A page on another
 * port of 127.0.0.1 (same-site) and one on `localhost` (cross-site) try
 * fetch, no-cors fetch, a form post and a link; only the origin listed in
 * allowedOrigins (FLASH_ALLOWED_ORIGINS) gets through, and it can read the
 * answer.
 */
import { existsSync } from "node:fs";
import { createServer } from "node:http";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { chromium } from "playwright-core";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer } from "../helpers/server-fixtures.js";
import type { TestServer } from "../helpers/server-fixtures.js";

const CHROMIUM = "/usr/bin/chromium";
const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];
const browserPresent = existsSync(CHROMIUM);
const browserRequired = Boolean(process.env.FLASH_REQUIRE_BROWSER);

describe.skipIf(!browserPresent && !browserRequired)("pages on other origins calling function routes, in Chromium", () => {
  let server: TestServer;
  let pages: Server;
  let pagePort: number;
  let browser: Browser;
  let page: Page;

  let allowedPages: Server;
  let allowedPort: number;
  const allowedOrigin = (): string => `http://localhost:${allowedPort}`;

  beforeAll(async () => {
    if (!browserPresent) throw new Error(`FLASH_REQUIRE_BROWSER is set but ${CHROMIUM} does not exist (apt-get install chromium)`);
    // Empty pages to run scripts from: one port refused (under both names), one allowed.
    const listen = async (): Promise<[Server, number]> => {
      const s = createServer((_req, res) => res.writeHead(200, { "content-type": "text/html" }).end("<!doctype html><title>another site</title><body></body>"));
      await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
      return [s, (s.address() as AddressInfo).port];
    };
    [pages, pagePort] = await listen();
    [allowedPages, allowedPort] = await listen();
    server = await startTestServer({ allowedOrigins: [allowedOrigin()] });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
    page = await browser.newPage();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await new Promise((resolve) => pages?.close(resolve));
    await new Promise((resolve) => allowedPages?.close(resolve));
  });

  /** Runs fetch in the page; returns the status and body, or the error's name when the browser blocked it. */
  const fetchFromPage = (url: string, init: { method: string; mode?: "cors" | "no-cors"; json?: boolean }): Promise<{ status?: number; body?: string; error?: string }> =>
    page.evaluate(
      async ({ url, init }) => {
        try {
          const res = await fetch(url, {
            method: init.method,
            mode: init.mode ?? "cors",
            ...(init.method === "GET" ? {} : { body: '{"input":{"from":"page"}}' }),
            ...(init.json ? { headers: { "content-type": "application/json" } } : {}),
          });
          return { status: res.status, body: await res.text() };
        } catch (error) {
          return { error: (error as Error).name };
        }
      },
      { url, init },
    );

  for (const [label, origin] of [
    ["same-site (another port of 127.0.0.1)", () => `http://127.0.0.1:${pagePort}`],
    ["cross-site (localhost is another site than 127.0.0.1)", () => `http://localhost:${pagePort}`],
  ] as const) {
    it(`a ${label} page cannot run a function: fetch, no-cors fetch, form post, link`, async () => {
      await page.goto(`${origin()}/`);
      const calls = server.invoker.calls.length;
      expect(await fetchFromPage(`${server.url}/gpu_worker/run_sync`, { method: "POST", json: true })).toEqual({ error: "TypeError" });
      // "Simple" requests: no preflight, so only the server can refuse them.
      expect(await fetchFromPage(`${server.url}/gpu_worker/run_sync`, { method: "POST", mode: "no-cors" })).toMatchObject({ status: 0 });
      expect(await fetchFromPage(`${server.url}/lb_worker/health`, { method: "GET", mode: "no-cors" })).toMatchObject({ status: 0 });
      // A form posted to the route, then a link to an LB GET route (top-level navigations).
      await page.setContent(`<form method="post" action="${server.url}/gpu_worker/run_sync" enctype="text/plain"><input name='{"input":1,"x":"' value='"}'></form>`);
      const [posted] = await Promise.all([page.waitForNavigation(), page.evaluate("document.forms[0].submit()")]);
      expect(posted?.status()).toBe(403);
      await page.goto(`${origin()}/`);
      await page.setContent(`<a href="${server.url}/lb_worker/health">go</a>`);
      const [followed] = await Promise.all([page.waitForNavigation(), page.click("a")]);
      expect(followed?.status()).toBe(403);
      expect(await page.textContent("body")).toContain("FLASH_ALLOWED_ORIGINS");
      expect(server.invoker.calls.length, "a refused request reached the function").toBe(calls);
    });
  }

  it("an allowed origin's page calls a route with fetch and reads the answer", async () => {
    await page.goto(`${allowedOrigin()}/`);
    const calls = server.invoker.calls.length;
    const res = await fetchFromPage(`${server.url}/gpu_worker/run_sync`, { method: "POST", json: true });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body ?? "{}")).toMatchObject({ status: "COMPLETED", output: { input: { from: "page" } } });
    expect(server.invoker.calls.length).toBe(calls + 1);
  });
});
