// A load-balanced CPU worker with HTTP routes:
//   GET  /lb_worker/items/42?verbose=1   (a path parameter and the query string)
//   POST /lb_worker/items {"name": "widget"}
import { remote, CpuLiveLoadBalancer } from "flash-ts";

const api = new CpuLiveLoadBalancer({ name: "lb-worker" });

export const getItem = remote(api, { method: "GET", path: "/items/:id" }, async (query: { id: string; verbose?: string }) => {
  return { id: query.id, name: `item ${query.id}`, ...(query.verbose ? { servedBy: process.pid } : {}) };
});

export const createItem = remote(api, { method: "POST", path: "/items" }, async (body: { name?: string }) => {
  return { created: true, name: body.name ?? "unnamed", at: new Date().toISOString() };
});
