/**
 * The REST v2 settings resource configs carry beyond the original four
 * classes' fields (flashboot, container disk, CUDA floor), from the config to
 * the body that creates the endpoint, and the label Endpoint gives its errors.
 */
import { describe, expect, it } from "vitest";
import { CpuLiveServerless, LiveLoadBalancer, LiveServerless } from "../../../src/sdk/index.js";
import { CONFIG_LABEL } from "../../../src/sdk/resources.js";
import { resolveWorkerRuntime, toCreateEndpointRequest, toUpdateEndpointRequest } from "../../../src/provision/endpoint-request.js";

const runtime = resolveWorkerRuntime({}, "1.0.0", "p1");

describe("REST v2 settings of resource configs", () => {
  it("leave the spec (and so the config hash) of a config that does not set them unchanged", () => {
    const spec = new LiveServerless({ name: "plain" }).toSpec();
    expect(spec).not.toHaveProperty("flashboot");
    expect(spec).not.toHaveProperty("containerDiskGb");
    expect(spec).not.toHaveProperty("minCudaVersion");
    expect(toCreateEndpointRequest(spec, runtime)).toMatchObject({ flashboot: "FLASHBOOT" });
    expect(toCreateEndpointRequest(spec, runtime)).not.toHaveProperty("disk");
  });

  it("reach the create body: flashboot off or priority, disk, the CUDA floor", () => {
    const gpu = new LiveServerless({ name: "g", flashboot: false, containerDiskGb: 40, minCudaVersion: "12.8" }).toSpec();
    expect(gpu).toMatchObject({ flashboot: "OFF", containerDiskGb: 40, minCudaVersion: "12.8" });
    const body = toCreateEndpointRequest(gpu, runtime);
    expect(body).toMatchObject({ flashboot: "OFF", disk: 40, gpu: { minCudaVersion: "12.8" } });
    const priority = toCreateEndpointRequest(new LiveLoadBalancer({ name: "p", flashboot: "priority" }).toSpec(), runtime);
    expect(priority.flashboot).toBe("PRIORITY_FLASHBOOT");
  });

  it("an update lifts a CUDA floor the code no longer sets", () => {
    const patch = toUpdateEndpointRequest(new LiveServerless({ name: "g" }).toSpec(), runtime);
    expect(patch.gpu).toMatchObject({ minCudaVersion: null });
    expect(toUpdateEndpointRequest(new CpuLiveServerless({ name: "c" }).toSpec(), runtime)).not.toHaveProperty("gpu");
  });

  it.each([
    [() => new LiveServerless({ name: "a", flashboot: "yes" as never }), /flashboot must be true, false or "priority"/],
    [() => new LiveServerless({ name: "a", containerDiskGb: 0 }), /containerDiskGb must be an integer from 1 to 4096/],
    [() => new LiveServerless({ name: "a", minCudaVersion: "12" }), /minCudaVersion must be a version like "12.8"/],
    [() => new CpuLiveServerless({ name: "a", minCudaVersion: "12.8" } as never), /not gpus\/gpuCount\/minCudaVersion/],
  ])("are validated naming the field (%#)", (make, message) => {
    expect(make).toThrow(message);
  });

  it("name the config by the label it was given, or by its class", () => {
    expect(() => new LiveServerless({ name: "a", idleTimeout: 0 })).toThrow(/^LiveServerless\("a"\): idleTimeout/);
    expect(() => new LiveServerless({ name: "a", idleTimeout: 0, [CONFIG_LABEL]: "Endpoint" } as never)).toThrow(/^Endpoint\("a"\): idleTimeout/);
    expect(() => new LiveServerless({ name: "a", gpus: ["nope"], [CONFIG_LABEL]: "Endpoint" } as never)).toThrow(/^Endpoint\("a"\): unknown GPU "nope"/);
  });
});
