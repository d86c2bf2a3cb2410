# One image for every role: `npm run api` (default), `npm run worker`, `npm run migrate`.
# TypeScript runs through tsx at runtime, so there is no build step.

# Stage 1: the source tree without anything host-specific. (Strip here because the build context may carry
# the host's node_modules, whose native binaries can be for another platform; a .dockerignore would also
# keep them out of the context upload.)
FROM node:20-bookworm-slim AS source
WORKDIR /src
COPY . .
RUN rm -rf node_modules client/node_modules .git .data coverage test-artifacts dist *.log

# Stage 2: dependencies from the lockfile first (cached until package*.json change), then the source.
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
# Full `npm ci` as the brief asks (tsx must be present at runtime). NODE_ENV is set only afterwards:
# NODE_ENV=production here would make npm skip devDependencies silently.
RUN npm ci --no-audit --no-fund --loglevel=error && npm cache clean --force
COPY --from=source /src ./

# Code stays root-owned (the app cannot rewrite itself); only the local object store is writable.
RUN mkdir -p /app/.data && chown node:node /app/.data
ENV NODE_ENV=production \
    PORT=3000 \
    STORAGE_DIR=/app/.data
USER node
EXPOSE 3000
# No HEALTHCHECK here: the same image runs the worker, which serves no HTTP. docker-compose.yml sets one per role.
CMD ["npm", "run", "api"]
