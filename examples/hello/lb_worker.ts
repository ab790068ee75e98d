// A load-balanced CPU worker: POST /lb_worker/process and GET /lb_worker/health
import { remote, CpuLiveLoadBalancer } from "flash-ts";

const api = new CpuLiveLoadBalancer({ name: "lb-worker", workersMin: 1 });

export const processItem = remote(api, { method: "POST", path: "/process" }, async (body: unknown) => {
  return { status: "success", echo: body, timestamp: new Date().toISOString() };
});

export const health = remote(api, { method: "GET", path: "/health" }, async () => {
  return { status: "healthy" };
});
