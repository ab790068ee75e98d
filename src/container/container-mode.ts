/** Whether `flash dev` uses a container; light on purpose (no dockerode), so the CLI can ask before loading Docker. */

/**
 * Whether `flash dev` should run in a container, from the flag and the
 * environment: `--no-container` (or `--container`) beats `FLASH_CONTAINER`
 * (`0`/`false`/`no` off, `1`/`true`/`yes` on); inside a container, never.
 * Returns `"auto"` when it depends on whether an engine answers.
 */
export function resolveContainerMode(flag: boolean | undefined, env: NodeJS.ProcessEnv, inside: boolean): "off" | "on" | "auto" {
  if (inside) return "off";
  if (flag === false) return "off";
  if (flag === true) return "on";
  const v = (env.FLASH_CONTAINER ?? "").trim().toLowerCase();
  if (v === "0" || v === "false" || v === "no" || v === "off") return "off";
  if (v === "1" || v === "true" || v === "yes" || v === "on") return "on";
  return "auto";
}
