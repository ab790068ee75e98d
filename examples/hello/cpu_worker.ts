// A queue-based CPU worker: POST /cpu_worker/run_sync {"input": {"message": "hi"}}
import { remote, CpuLiveServerless, CpuInstanceType } from "flash-ts";

const cpu = new CpuLiveServerless({ name: "cpu-worker", instanceIds: [CpuInstanceType.CPU3G_2_8] });

export const cpuHello = remote(cpu, async (input: { message?: string }) => {
  return {
    message: input?.message ?? "hello from the CPU worker",
    timestamp: new Date().toISOString(),
    platform: `${process.platform}/${process.arch}`,
  };
});
