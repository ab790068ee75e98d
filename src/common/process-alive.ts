/**
 * Whether a process (or, with a negative pid, a process group) exists on this
 * host. EPERM means it exists but belongs to another user; that counts as alive.
 */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid === 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
