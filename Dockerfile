# One image for every role: the API (default), the worker, the one-shot migration (see docker-compose.yml).
# Two stages, so the image holds the compiled build and runtime dependencies only: no TypeScript, tsx,
# esbuild or test tooling, and no compiling at start-up. scripts/check-production-install.sh checks this
# same layout without Docker (package*.json + dist/ + bin/, `npm ci --omit=dev`): keep the two in step.

# Stage 1: every dependency (the build needs TypeScript, esbuild and the browser client's libraries),
# then `npm run build` → dist/ (server as JavaScript, its pages, the prebuilt /client/uploader.js).
# .dockerignore keeps the host's node_modules (whose native binaries can be for another platform) and
# dist/ out of the context.
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY . .
RUN npm run build

# Stage 2: runtime dependencies from the lockfile first (cached until package*.json change), then the build.
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --loglevel=error && npm cache clean --force
# bin/ is the `bsm` CLI's launcher: without tsx it runs dist/cli (`docker compose exec api node bin/bsm.js …`).
COPY --from=build /src/dist ./dist
COPY --from=build /src/bin ./bin

# Code stays root-owned (the app cannot rewrite itself); only the local object store is writable.
RUN mkdir -p /app/.data && chown node:node /app/.data
ENV PORT=3000 \
    STORAGE_DIR=/app/.data
USER node
EXPOSE 3000
# No HEALTHCHECK here: the same image runs the worker, which serves no HTTP. docker-compose.yml sets one per role.
# Node itself, not npm, is the process: signals reach it directly (SIGTERM → graceful stop).
CMD ["node", "dist/api/main.js"]
