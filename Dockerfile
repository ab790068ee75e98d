# The flash-ts dev image: `flash dev` in a container, serving the project
# mounted at /workspace on port 8888, polling for file changes.
#
#   docker build -t flash-dev .                                   # from a checkout (compiles src/)
#   docker build --build-arg BASE_IMAGE=mirror.example/node:24-bookworm-slim .
#
# `flash dev` on the host builds it from the installed package (prebuilt dist/,
# no src/) through the Engine API, which uses Docker's classic builder: so this
# file uses nothing BuildKit-only (no heredocs, no --mount, no --chmod).
# Secrets (RUNPOD_API_KEY, .env values) are never build arguments: they are
# given to the container when it runs.

ARG BASE_IMAGE=node:24-bookworm-slim

# ---- build: compile from source in a checkout; a published package brings dist/ ----
FROM ${BASE_IMAGE} AS build
WORKDIR /build
COPY package*.json tsconfig*.json ./
# Dev dependencies only when there is something to compile (the checkout's tsconfig);
# --ignore-scripts: `prepare` would build before src/ is here, and no native addon is needed to compile.
RUN if [ -f tsconfig.build.json ]; then npm ci --no-audit --no-fund --ignore-scripts --loglevel=error; fi
COPY . .
# `npm run build`: tsc, then the worker runtime bundle (dist/runtime/) that workers receive.
RUN if [ -f tsconfig.build.json ] && [ -d src ]; then rm -rf dist && npm run build --silent; fi \
 && if [ ! -f dist/cli/index.js ] || [ ! -f dist/runtime/worker-runtime.mjs ]; then echo "dist/ is missing or incomplete: build flash-ts first (npm run build)" >&2; exit 1; fi \
 && mkdir -p /stage \
 && cp -R package*.json dist /stage/ \
 && if [ -d assets ]; then cp -R assets /stage/; fi
# Marks this stage's leftover (untagged) image, per build, so `flash dev` prunes its own
# leftovers and never an image another build still uses. Declared last: a build argument
# changes the cache key of every RUN after it.
ARG FLASH_BUILD_ID=none
LABEL dev.flash-ts.stage=build dev.flash-ts.build=${FLASH_BUILD_ID}

# ---- the dev image ----
# Nothing is installed from the distribution: the build needs no Debian mirror, only the npm
# registry. PID 1 is the engine's own init (tini), which the host CLI, compose.yaml and the
# devcontainer ask for (`init`): it forwards Ctrl-C/SIGTERM and reaps the emulator's workers.
FROM ${BASE_IMAGE}
RUN id -u node >/dev/null 2>&1 || useradd --uid 1000 --user-group --create-home --shell /bin/bash node

# flash-ts itself, production dependencies only; --ignore-scripts skips optional native builds (ssh2's cpu-features).
WORKDIR /opt/flash-ts
COPY --from=build /stage/package*.json ./
RUN if [ -f package-lock.json ]; then npm ci --omit=dev --no-audit --no-fund --ignore-scripts --loglevel=error; \
    else npm install --omit=dev --no-audit --no-fund --ignore-scripts --loglevel=error; fi \
 && npm cache clean --force >/dev/null 2>&1
COPY --from=build /stage/ ./
# `flash` on PATH. The project's node_modules is a volume over /workspace/node_modules: this
# directory seeds it, world-writable (sticky), so the host user's uid — whatever it is — can install there.
RUN chmod 0755 dist/cli/index.js \
 && ln -s /opt/flash-ts/dist/cli/index.js /usr/local/bin/flash \
 && mkdir -p /workspace/node_modules /workspace/.runpod \
 && chown node:node /workspace /workspace/.runpod \
 && chmod 1777 /workspace/node_modules

# The marker: `flash dev` inside serves directly (no container in the container), binds 0.0.0.0, polls.
ENV FLASH_IN_CONTAINER=1 \
    FLASH_WATCH=poll \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false \
    NPM_CONFIG_AUDIT=false

WORKDIR /workspace
USER node
EXPOSE 8888
# /ping answers as soon as the server serves; the start period covers a first `npm ci` of the project.
HEALTHCHECK --interval=30s --timeout=5s --start-period=180s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8888/ping').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "/opt/flash-ts/dist/container/container-entrypoint.js"]
CMD ["flash", "dev", "--host", "0.0.0.0", "--port", "8888"]
