import { describe, expect, it } from "vitest";
import { buildWorkerEnv } from "../../../src/emulator/worker-env.js";

const base = {
  baseUrl: "http://127.0.0.1:4000",
  endpointId: "abcdefghijklmn",
  workerId: "w0000000000001",
  workerKey: "rpa_emu_key",
  hostEnv: {
    PATH: "/bin",
    HOME: "/home/u",
    TMPDIR: "/tmp",
    LANG: "C.UTF-8",
    NODE_EXTRA_CA_CERTS: "/ca.pem",
    npm_config_registry: "https://registry.example",
    RUNPOD_API_KEY: "host-secret",
    SECRET_TOKEN: "nope",
  },
};

describe("buildWorkerEnv", () => {
  it("gives a queue worker Runpod's variables, pointing back at the emulator", () => {
    const env = buildWorkerEnv({ ...base, endpointType: "QUEUE", endpointEnv: { MODEL: "x" }, parentPid: 4242 });
    expect(env).toMatchObject({
      RUNPOD_WEBHOOK_GET_JOB: "http://127.0.0.1:4000/v2/abcdefghijklmn/job-take/$ID?gpu=EMU",
      RUNPOD_WEBHOOK_POST_OUTPUT: "http://127.0.0.1:4000/v2/abcdefghijklmn/job-done/$RUNPOD_POD_ID/$ID?gpu=EMU",
      RUNPOD_WEBHOOK_POST_STREAM: "http://127.0.0.1:4000/v2/abcdefghijklmn/job-stream/$RUNPOD_POD_ID/$ID?gpu=EMU",
      RUNPOD_WEBHOOK_PING: "http://127.0.0.1:4000/v2/abcdefghijklmn/ping/$RUNPOD_POD_ID?gpu=EMU",
      RUNPOD_POD_ID: "w0000000000001",
      RUNPOD_AI_API_KEY: "rpa_emu_key",
      RUNPOD_ENDPOINT_ID: "abcdefghijklmn",
      RUNPOD_PING_INTERVAL: "10000",
      RUNPOD_ENDPOINT_BASE_URL: "http://127.0.0.1:4000/v2",
      RUNPOD_API_BASE_URL: "http://127.0.0.1:4000",
      FLASH_PARENT_PID: "4242",
      MODEL: "x",
      PATH: "/bin",
      HOME: "/home/u",
      TMPDIR: "/tmp",
      LANG: "C.UTF-8",
      NODE_EXTRA_CA_CERTS: "/ca.pem",
      npm_config_registry: "https://registry.example",
    });
    expect(env.PORT).toBeUndefined();
  });

  it("never passes the emulator's own secrets; RUNPOD_API_KEY is the worker key unless the endpoint env sets one", () => {
    const env = buildWorkerEnv({ ...base, endpointType: "QUEUE", endpointEnv: {} });
    // The worker key (accepted on client routes) lets nested calls through an emulator with an API key.
    expect(env.RUNPOD_API_KEY).toBe("rpa_emu_key");
    expect(env.SECRET_TOKEN).toBeUndefined();
    expect(buildWorkerEnv({ ...base, endpointType: "QUEUE", endpointEnv: { RUNPOD_API_KEY: "mine" } }).RUNPOD_API_KEY).toBe("mine");
    expect(buildWorkerEnv({ ...base, endpointType: "LOAD_BALANCER", endpointEnv: {}, port: 1 }).RUNPOD_API_KEY).toBe("rpa_emu_key");
  });

  it("keeps the worker's identity and wiring even when the endpoint env names them", () => {
    const env = buildWorkerEnv({ ...base, endpointType: "QUEUE", endpointEnv: { RUNPOD_POD_ID: "x", RUNPOD_ENDPOINT_BASE_URL: "https://api.runpod.ai/v2", RUNPOD_PING_INTERVAL: "500" } });
    expect(env.RUNPOD_POD_ID).toBe("w0000000000001");
    expect(env.RUNPOD_ENDPOINT_BASE_URL).toBe("http://127.0.0.1:4000/v2");
    expect(env.RUNPOD_PING_INTERVAL).toBe("500");
  });

  it("gives a load-balanced worker PORT and PORT_HEALTH and no job URLs", () => {
    const env = buildWorkerEnv({ ...base, endpointType: "LOAD_BALANCER", endpointEnv: { PORT: "80" }, port: 43210 });
    expect(env.PORT).toBe("43210");
    expect(env.PORT_HEALTH).toBe("43210");
    expect(env.RUNPOD_WEBHOOK_GET_JOB).toBeUndefined();
    expect(env.RUNPOD_POD_ID).toBe("w0000000000001");
  });
});
