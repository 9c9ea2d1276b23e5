# syntax=docker/dockerfile:1
# One image for every MediaShar service group: the container's SERVICES env picks which services
# this node runs (SERVICES=api,ops for a gateway, SERVICES=donations for a donations worker...).
# Leave SERVICES unset for the all-in-one node (every service in one process).

# ---- deps: the full dependency tree, cached while package*.json do not change ----
FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

# ---- build: TypeScript → dist/, browser pages → public/build, then drop dev dependencies ----
FROM deps AS build
COPY . .
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

# ---- runtime: compiled code and production dependencies only, as an unprivileged user ----
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    SERVICEDIR=dist/services \
    PORT=3000 \
    DATA_DIR=/app/data
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/public ./public
RUN mkdir -p /app/data && chown node:node /app/data
USER node
EXPOSE 3000
# The runner handles SIGTERM: the broker stops taking work, lets in-flight requests and channel
# messages finish (up to SHUTDOWN_TIMEOUT_MS) and leaves the cluster.
STOPSIGNAL SIGTERM
CMD ["node", "node_modules/moleculer/bin/moleculer-runner.js", "--config", "dist/moleculer.config.js"]
