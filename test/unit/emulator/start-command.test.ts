import { describe, expect, it } from "vitest";
import { containerCommand, localWorkerArgs, resolveStartCommand, splitCommand } from "../../../src/emulator/start-command.js";

const runtime = { execPath: "/usr/bin/node", cliEntry: "/pkg/dist/cli/index.js" };

describe("splitCommand", () => {
  it("splits words with quotes and escapes", () => {
    expect(splitCommand(`flash worker --handler "my handler.js" 'a b' c\\ d`)).toEqual(["flash", "worker", "--handler", "my handler.js", "a b", "c d"]);
    expect(splitCommand("  ")).toEqual([]);
  });

  it("gives up on shell syntax", () => {
    for (const text of ["a | b", "a && b", "a; b", "echo $HOME", "a > f", "ls *.js", 'echo "$X"', "`x`", "unterminated 'quote"]) {
      expect(splitCommand(text), text).toBeUndefined();
    }
  });
});

describe("localWorkerArgs", () => {
  it("recognises this package's runtime in its usual spellings", () => {
    expect(localWorkerArgs(["flash", "worker", "--handler", "h.js"])).toEqual(["--handler", "h.js"]);
    expect(localWorkerArgs(["npx", "flash-ts", "worker"])).toEqual([]);
    expect(localWorkerArgs(["npx", "-y", "flash-ts@0.1.0", "worker", "--concurrency", "2"])).toEqual(["--concurrency", "2"]);
    expect(localWorkerArgs(["npx", "--yes", "flash-ts@latest", "worker"])).toEqual([]);
  });

  it("leaves other commands alone", () => {
    expect(localWorkerArgs(["flash", "dev"])).toBeUndefined();
    expect(localWorkerArgs(["npx", "other", "worker"])).toBeUndefined();
    expect(localWorkerArgs(["python", "handler.py"])).toBeUndefined();
  });
});

describe("resolveStartCommand", () => {
  it("runs the local CLI for flash worker commands, nothing downloaded", () => {
    expect(resolveStartCommand("npx -y flash-ts@9.9.9 worker --handler h.js", runtime)).toEqual({
      file: "/usr/bin/node",
      args: ["/pkg/dist/cli/index.js", "worker", "--handler", "h.js"],
      local: true,
      display: "npx -y flash-ts@9.9.9 worker --handler h.js",
    });
  });

  it("treats an empty command as the image default, flash worker", () => {
    expect(resolveStartCommand("", runtime)).toMatchObject({ file: "/usr/bin/node", args: ["/pkg/dist/cli/index.js", "worker"], local: true });
  });

  it("runs a node command (the bootstrap) with the emulator's own Node, whatever PATH finds", () => {
    expect(resolveStartCommand(`node -e 'console.log("hi")'`, runtime)).toEqual({ file: "/usr/bin/node", args: ["-e", 'console.log("hi")'], local: false, display: `node -e 'console.log("hi")'` });
    expect(resolveStartCommand("node worker.mjs | tee log", runtime).file).toBe("/bin/sh");
  });

  it("runs anything else through /bin/sh -c", () => {
    expect(resolveStartCommand("python -u handler.py", runtime)).toEqual({ file: "/bin/sh", args: ["-c", "python -u handler.py"], local: false, display: "python -u handler.py" });
    expect(resolveStartCommand("cd app && flash worker", runtime).file).toBe("/bin/sh");
  });
});

describe("containerCommand: how Runpod applies an endpoint's args to its image", () => {
  it("keeps the image's CMD for empty args and splits others into words like a shell, expanding nothing", () => {
    expect(containerCommand("")).toEqual({});
    expect(containerCommand("   ")).toEqual({});
    expect(containerCommand(`bash -c 'mkdir /testdir1 && /start.sh'`)).toEqual({ cmd: ["bash", "-c", "mkdir /testdir1 && /start.sh"] });
    expect(containerCommand(`echo $HOME "a b" c\\ d`)).toEqual({ cmd: ["echo", "$HOME", "a b", "c d"] });
    expect(containerCommand(`node -e 'console.log(1); process.exit($X)'`)).toEqual({ cmd: ["node", "-e", "console.log(1); process.exit($X)"] });
  });

  it("takes the JSON form with cmd and entrypoint", () => {
    expect(containerCommand(`{ "cmd": ["echo foo && /start.sh"], "entrypoint": ["bash", "-c"] }`)).toEqual({ cmd: ["echo foo && /start.sh"], entrypoint: ["bash", "-c"] });
    expect(containerCommand(`{"cmd": ["node", "x.js"]}`)).toEqual({ cmd: ["node", "x.js"] });
  });

  it("refuses what it cannot split", () => {
    expect(() => containerCommand(`node -e 'unbalanced`)).toThrow(/unbalanced quote/);
    expect(() => containerCommand(`{"cmd": "not a list"}`)).toThrow(/cmd and entrypoint must be lists of strings/);
  });
});
