// A queue-based CPU worker: POST /cpu_worker/run_sync {"input": {"text": "hello"}}
import { remote, CpuLiveServerless, CpuInstanceType } from "flash-ts";

const cpu = new CpuLiveServerless({ name: "cpu-worker", instanceIds: [CpuInstanceType.CPU3G_2_8] });

export const summarize = remote(cpu, async (input: { text?: string }) => {
  const text = input?.text ?? "hello from the CPU worker";
  return { text, words: text.split(/\s+/).filter(Boolean).length, upper: text.toUpperCase() };
});
